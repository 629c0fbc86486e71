// Entry point of `tpv` (bundled to dist/tpv.js). Wires the real environment
// into the dispatcher; everything else lives in testable modules.
import { readFileSync } from 'node:fs';
import { version } from '../package.json';
import { readRoutingTable } from '../daemon/routing/routingTableReader';
import { commands } from './commands';
import { type CliEnvironment, runCli } from './dispatcher';

const env: CliEnvironment = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  platform: process.platform,
  env: process.env,
  readRoutingTable: () => readRoutingTable(),
  readFile: (path) => readFileSync(path, 'utf8'),
  version,
};

runCli(process.argv.slice(2), commands, env).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    process.stderr.write(`tpv: error: ${(err as Error)?.message ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
