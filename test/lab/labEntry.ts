// The script that the lab's own processes (control plane, corporate
// services, lab/echo containers) run with node.
// - Inside a bundle: out/test/lab.js (the lab's bundle, next to the benchmark's).
// - From TypeScript sources (tests through tsx): test/lab/main.ts bundled with
//   esbuild into out/dev/lab.js first, so detached processes never need tsx
//   and never run a stale bundle.
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

let built: string | undefined;

export function labScript(): string {
  const here = __filename;
  if (!here.endsWith('.ts')) {
    // Inside a bundle: the lab's own (out/test/lab.js), which other bundles (the benchmark) sit next to.
    const sibling = join(dirname(here), 'lab.js');
    return here.endsWith('lab.js') || !existsSync(sibling) ? here : sibling;
  }
  if (built && existsSync(built)) return built;
  const root = join(dirname(here), '..', '..');
  const out = join(root, 'out', 'dev', 'lab.js');
  const tmp = `${out}.${process.pid}.tmp`;
  mkdirSync(dirname(out), { recursive: true });
  // Resolved at run time so that no bundle ever includes esbuild.
  const esbuildName = 'esbuild';
  const esbuild = createRequire(here)(esbuildName) as typeof import('esbuild');
  esbuild.buildSync({
    entryPoints: [join(dirname(here), 'main.ts')],
    outfile: tmp, bundle: true, platform: 'node', format: 'cjs', target: 'node20', external: ['koffi'], logLevel: 'error',
  });
  renameSync(tmp, out); // atomic: parallel test processes never run a half-written bundle
  built = out;
  return out;
}
