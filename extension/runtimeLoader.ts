// Loads the halves of the extension that activation does not need, each a
// bundle of its own in dist/, on first use. The paths are computed so the
// bundler leaves them out of dist/extension.js.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

export type ExtensionRuntime = typeof import('./runtime');
export type DaemonLink = typeof import('./daemonLink');

function requireBundle<T>(bundle: string, entry: string): T {
  const file = join(__dirname, bundle);
  if (!existsSync(file)) {
    throw new Error(`the extension is incomplete: ${file} is missing (the build must bundle ${entry} into dist/${bundle}); reinstall the extension`);
  }
  return createRequire(__filename)(file) as T;
}

let runtime: ExtensionRuntime | undefined;
let daemonLink: DaemonLink | undefined;

/** The Kubernetes client, kubeconfig handling and Connect (dist/extensionRuntime.js). */
export function loadRuntime(): ExtensionRuntime {
  return (runtime ??= requireBundle<ExtensionRuntime>('extensionRuntime.js', 'extension/runtime.ts'));
}

/** The daemon client, handshake and launcher (dist/extensionDaemonLink.js). */
export function loadDaemonLink(): DaemonLink {
  return (daemonLink ??= requireBundle<DaemonLink>('extensionDaemonLink.js', 'extension/daemonLink.ts'));
}
