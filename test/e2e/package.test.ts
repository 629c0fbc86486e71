// What `npm run package` puts into the .vsix: every bundle, koffi's runtime
// files, the webview bundle with the UI toolkit inside, and nothing from test/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { ensureVsix } from './harness/vsix';

const vsix = ensureVsix((l) => console.log(`# ${l}`));
const listing = execFileSync('unzip', ['-Z1', vsix.path], { encoding: 'utf8' }).split('\n').filter(Boolean);
const lazyBundles = ['extension/dist/extensionRuntime.js', 'extension/dist/extensionDaemonLink.js'];
const mapsShipped = listing.some((f) => f.endsWith('.map'));

test('the .vsix holds the extension, daemon, CLI, relay, worker and webview bundles and koffi', () => {
  for (const f of ['extension/package.json', 'extension/dist/extension.js', 'extension/dist/daemon.js', 'extension/dist/tpv.js', 'extension/dist/relay.js',
    'extension/dist/tunReaderWorker.js', 'extension/dist/webview/vnatView.js', 'extension/dist/node_modules/koffi/package.json',
    'extension/media/telepresence.svg', 'extension/media/icon.png', 'extension/schemas/config.schema.json']) {
    assert.ok(listing.includes(f), `${f} is not in ${vsix.path}`);
  }
  assert.ok(listing.some((f) => /^extension\/dist\/node_modules\/@koromix\/koffi-linux-x64\/.*koffi\.node$/.test(f)), 'koffi prebuilt binary');
  assert.deepEqual(listing.filter((f) => /(^|\/)test\/|\.test\.|\.ts$/.test(f) && !f.endsWith('.d.ts')), [], 'nothing from test/ or sources');
  assert.ok(!listing.some((f) => f.startsWith('extension/node_modules/')), 'dependencies are bundled, not shipped');
});

test('the webview bundle carries the UI toolkit (no separate script to load)', () => {
  const js = execFileSync('unzip', ['-p', vsix.path, 'extension/dist/webview/vnatView.js'], { encoding: 'utf8' });
  // The toolkit registers its elements by base name under the `vscode` prefix.
  assert.match(js, /data-grid-row/);
  assert.match(js, /text-field/);
  assert.match(js, /--vscode-button-background/);
});

test('the lazily loaded halves ship as bundles of their own, and activation does not compile them', () => {
  for (const f of lazyBundles) assert.ok(listing.includes(f), `${f} is not in the .vsix`);
  const main = execFileSync('unzip', ['-p', vsix.path, 'extension/dist/extension.js'], { encoding: 'utf8' });
  // Markers of what belongs in the lazy bundles: the JSON-RPC library and the Kubernetes client.
  assert.doesNotMatch(main, /Content-Length/, 'vscode-jsonrpc is bundled into dist/extension.js');
  assert.doesNotMatch(main, /KubeConfig/, '@kubernetes/client-node is bundled into dist/extension.js');
});

test('development source maps are not shipped', () => {
  assert.ok(!mapsShipped, listing.filter((f) => f.endsWith('.map')).join(', '));
});
