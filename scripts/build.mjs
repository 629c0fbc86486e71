// Builds every bundle with esbuild. One place lists the entry points so that
// the packaged extension, the tests and the benchmarks run the same code.
import { build } from 'esbuild';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const production = process.argv.includes('--production');
const quiet = process.argv.includes('--quiet');

// Shipped in the .vsix (dist/) ...
const shipped = [
  { entry: 'extension/extension.ts', out: 'dist/extension.js', platform: 'node', external: ['vscode'] },
  // Loaded on first use so that activation stays cheap (the Kubernetes client alone costs ~50 ms to compile).
  { entry: 'extension/runtime.ts', out: 'dist/extensionRuntime.js', platform: 'node', external: ['vscode'] },
  // Loaded by the first look for a running daemon, after activate() returns (JSON-RPC is most of it).
  { entry: 'extension/daemonLink.ts', out: 'dist/extensionDaemonLink.js', platform: 'node', external: ['vscode'] },
  { entry: 'daemon/main.ts', out: 'dist/daemon.js', platform: 'node', external: ['koffi'] },
  { entry: 'daemon/tun/tunReaderWorker.ts', out: 'dist/tunReaderWorker.js', platform: 'node', external: ['koffi'] },
  { entry: 'cli/tpv.ts', out: 'dist/tpv.js', platform: 'node', external: ['koffi'], banner: '#!/usr/bin/env node' },
  // The relay runs in a stock `node` image from a ConfigMap: one file, Node built-ins only.
  { entry: 'daemon/relay/relay.ts', out: 'dist/relay.js', platform: 'node', external: [] },
  { entry: 'webview/vnatView.ts', out: 'dist/webview/vnatView.js', platform: 'browser', external: [] },
];
// ... and test-only bundles (out/, never packaged).
const testOnly = [
  { entry: 'test/lab/main.ts', out: 'out/test/lab.js', platform: 'node', external: ['koffi'] },
  { entry: 'test/bench/main.ts', out: 'out/test/bench.js', platform: 'node', external: ['koffi'] },
];

const entries = (production ? shipped : [...shipped, ...testOnly]).filter((e) => existsSync(join(root, e.entry)));

await Promise.all(
  entries.map((e) =>
    build({
      entryPoints: [join(root, e.entry)],
      outfile: join(root, e.out),
      bundle: true,
      platform: e.platform,
      format: e.platform === 'browser' ? 'iife' : 'cjs',
      target: e.platform === 'browser' ? 'es2022' : 'node20',
      external: e.external,
      sourcemap: production ? false : 'linked',
      minify: production,
      banner: e.banner ? { js: e.banner } : undefined,
      logLevel: quiet ? 'error' : 'warning',
      // The relay script is embedded into the daemon as text (see daemon/relay/).
      loader: { '.relay.js': 'text' },
    }),
  ),
);

// koffi is a native module: ship its JS and only the prebuilt binaries that npm
// installed for this platform family next to the bundles that require it.
const koffiSrc = join(root, 'node_modules/koffi');
if (existsSync(koffiSrc)) {
  const dest = join(root, 'dist/node_modules');
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(join(dest, '@koromix'), { recursive: true });
  cpSync(koffiSrc, join(dest, 'koffi'), {
    recursive: true,
    // Docs, vendored headers and C++ sources only matter when building koffi
    // from scratch; its runtime .cjs files (src/koffi/src/static.cjs) must stay.
    filter: (p) => {
      const rel = p.slice(koffiSrc.length);
      return !/^[\\/](doc|vendor)([\\/]|$)/.test(rel) && !/\.(cc|hh|c|h|inc|S|asm)$|CMakeLists\.txt$/.test(rel);
    },
  });
  const prebuilt = join(root, 'node_modules/@koromix');
  if (existsSync(prebuilt)) {
    for (const name of readdirSync(prebuilt)) {
      if (name.startsWith('koffi-')) cpSync(join(prebuilt, name), join(dest, '@koromix', name), { recursive: true });
    }
  }
}
if (!quiet) console.log(`built ${entries.length} bundles${production ? ' (production)' : ''}`);
