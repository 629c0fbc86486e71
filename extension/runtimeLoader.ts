// Loads dist/extensionRuntime.js (see runtime.ts) at run time. The path is
// computed so the bundler leaves it out of dist/extension.js.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

export type ExtensionRuntime = typeof import('./runtime');

let loaded: ExtensionRuntime | undefined;

export function loadRuntime(): ExtensionRuntime {
  if (loaded) return loaded;
  const file = join(__dirname, 'extensionRuntime.js');
  if (!existsSync(file)) {
    throw new Error(`the extension is incomplete: ${file} is missing (the build must bundle extension/runtime.ts into dist/extensionRuntime.js); reinstall the extension`);
  }
  loaded = createRequire(__filename)(file) as ExtensionRuntime;
  return loaded;
}
