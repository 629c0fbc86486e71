// Entry point of `tpv` (bundled to dist/tpv.js). Wires the real environment
// into the dispatcher; everything else lives in testable modules.
import { readFileSync } from 'node:fs';
import { version } from '../package.json';
import { readRoutingTable } from '../daemon/routing/routingTableReader';
import { commands } from './commands';
import { type CliEnvironment, runCli } from './dispatcher';
import { flattenChoice, INTERNAL_FLATTEN } from './kubeconfigChoice';

const env: CliEnvironment = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  platform: process.platform,
  env: process.env,
  readRoutingTable: () => readRoutingTable(),
  readFile: (path) => readFileSync(path, 'utf8'),
  version,
};

// Internal: `tpv connect` under sudo re-runs itself as the invoking user to
// resolve credential plugins (they never run as root); prints the result as JSON.
async function internalFlatten(argv: string[]): Promise<number> {
  const value = (flag: string) => { const i = argv.indexOf(flag); return i >= 0 ? argv[i + 1] : undefined; };
  const flat = await flattenChoice({ kubeconfig: value('--kubeconfig'), context: value('--context'), namespace: value('--namespace') }, env);
  process.stdout.write(JSON.stringify(flat));
  return 0;
}

const argv = process.argv.slice(2);
(argv[0] === INTERNAL_FLATTEN ? internalFlatten(argv.slice(1)) : runCli(argv, commands, env)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    process.stderr.write(`tpv: error: ${(err as Error)?.message ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
