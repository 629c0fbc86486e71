// The docker `--env-file` format Telepresence writes: one KEY=VALUE per
// line, no quoting; a value with a newline cannot be represented.
export function envFileText(env: Readonly<Record<string, string>>): { text: string; skipped: string[] } {
  const lines: string[] = [];
  const skipped: string[] = [];
  for (const key of Object.keys(env).sort()) {
    const value = env[key]!;
    if (value.includes('\n')) skipped.push(key);
    else lines.push(`${key}=${value}`);
  }
  return { text: lines.length ? `${lines.join('\n')}\n` : '', skipped };
}
