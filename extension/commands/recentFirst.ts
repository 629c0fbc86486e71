// Quick-pick order: what was used last comes first, the rest keeps its order. Pure.

export function recentFirst<T>(items: readonly T[], recent: readonly string[], key: (item: T) => string): T[] {
  const rank = new Map(recent.map((name, i) => [name, i]));
  return [...items].map((item, i) => ({ item, i, r: rank.get(key(item)) })).sort((a, b) => {
    if (a.r !== undefined && b.r !== undefined) return a.r - b.r;
    if (a.r !== undefined) return -1;
    if (b.r !== undefined) return 1;
    return a.i - b.i;
  }).map((x) => x.item);
}

/** Puts `used` in front of the list, without duplicates, keeping at most `max`. */
export function remember(recent: readonly string[], used: string, max = 10): string[] {
  return [used, ...recent.filter((r) => r !== used)].slice(0, max);
}
