// Entry @vscode/test-electron calls inside the extension host: runs every
// bundled suite next to this file with mocha.
import Mocha from 'mocha';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'tdd', color: true, timeout: 60_000 });
  const dir = join(__dirname, 'suites');
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.test.js'))) mocha.addFile(join(dir, f));
  return new Promise((resolve, reject) => {
    mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} test(s) failed`)) : resolve()));
  });
}
