// Where the TUN reader worker's code comes from.
// - Inside a bundle (dist/daemon.js, out/test/*.js): the sibling
//   dist/tunReaderWorker.js that scripts/build.mjs produced in the same build.
// - Running the TypeScript sources (tests through tsx): bundle the worker's
//   current source with esbuild into out/dev/ first, so a test never runs a
//   stale dist/ worker against fresh main-thread code.
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const WORKER_BUNDLE = 'tunReaderWorker.js';
let built: string | undefined;

export function tunReaderWorkerScript(): string {
  const here = __filename;
  if (!here.endsWith('.ts')) {
    const candidates = [join(dirname(here), WORKER_BUNDLE), join(dirname(here), '..', '..', 'dist', WORKER_BUNDLE)];
    const found = candidates.find((p) => existsSync(p));
    if (!found) throw new Error(`the TUN reader worker is missing (looked for ${candidates.join(', ')}): rebuild with \`node scripts/build.mjs\``);
    return found;
  }
  if (built) return built;
  const root = join(dirname(here), '..', '..');
  const out = join(root, 'out', 'dev', WORKER_BUNDLE);
  mkdirSync(dirname(out), { recursive: true });
  // Resolved at run time so that no bundle ever includes esbuild.
  const esbuildName = 'esbuild';
  const esbuild = createRequire(here)(esbuildName) as typeof import('esbuild');
  esbuild.buildSync({
    entryPoints: [join(dirname(here), 'tunReaderWorker.ts')],
    outfile: out, bundle: true, platform: 'node', format: 'cjs', target: 'node20', external: ['koffi'], logLevel: 'error',
  });
  built = out;
  return out;
}
