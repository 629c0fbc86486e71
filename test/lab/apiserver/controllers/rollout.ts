// The arithmetic of a rolling update, pure so it is unit tested: how far the
// new ReplicaSet may scale up and the old ones down given maxSurge and
// maxUnavailable (int or percentage; surge rounds up, unavailable down).

export function scaledValue(v: number | string | undefined, total: number, roundUp: boolean, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) return Number(v) || 0;
  const exact = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

export function surgeAndUnavailable(desired: number, rollingUpdate: { maxSurge?: number | string; maxUnavailable?: number | string } | undefined): { maxSurge: number; maxUnavailable: number } {
  const maxSurge = scaledValue(rollingUpdate?.maxSurge, desired, true, Math.ceil(desired / 4));
  let maxUnavailable = scaledValue(rollingUpdate?.maxUnavailable, desired, false, Math.floor(desired / 4));
  // Both zero would never make progress; the real controller then allows one unavailable.
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable };
}

/** Replicas the new ReplicaSet should have now. */
export function newReplicaSetTarget(desired: number, newReplicas: number, totalReplicas: number, maxSurge: number): number {
  if (newReplicas >= desired) return desired;
  const room = desired + maxSurge - totalReplicas;
  return Math.min(desired, newReplicas + Math.max(0, room));
}

/**
 * How many old replicas may go now: unavailable old replicas always, and
 * available ones as long as at least desired − maxUnavailable stay available.
 */
export function oldReplicasToRemove(desired: number, maxUnavailable: number, totalAvailable: number, oldReplicas: number, oldAvailable: number): number {
  const unhealthyOld = Math.max(0, oldReplicas - oldAvailable);
  const minAvailable = desired - maxUnavailable;
  const healthyRemovable = Math.max(0, totalAvailable - minAvailable);
  return Math.min(oldReplicas, unhealthyOld + Math.min(oldAvailable, healthyRemovable));
}
