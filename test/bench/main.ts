// `npm run bench`: the data path's benchmarks, each against a baseline
// measured in the same run, printed as a table of ratios (`--json` for
// machine-readable output). A benchmark, not a test: it asserts nothing.
import { benchPacketPath } from './packetPath';
import { benchTunnel } from './tunnel';
import { benchLabPaths } from './labPaths';
import { benchVnatTable, VNAT_WORKER_FLAG, vnatTableWorker } from './vnatTable';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { missingNetworkPrivileges } from '../support/privileges';

interface Row { suite: string; name: string; baseline: number; measured: number; ratio: number; unit: string }

async function main(): Promise<void> {
  // The VNAT table suite measures in a child of this same bundle (see vnatTable.ts).
  if (process.argv[2] === VNAT_WORKER_FLAG) { vnatTableWorker(process.argv.slice(3)); return; }
  const json = process.argv.includes('--json');
  const quick = process.argv.includes('--quick');
  // `--only tunnel|packet|vnat|lab|vnat-lab`: one suite, for iterating on a single path.
  const onlyAt = process.argv.indexOf('--only');
  const only = onlyAt > 0 ? process.argv[onlyAt + 1] : undefined;
  // `--profile DIR`: V8 CPU profiles of the daemon during the lab paths.
  const profileAt = process.argv.indexOf('--profile');
  const profileDir = profileAt > 0 ? process.argv[profileAt + 1] : undefined;
  const wanted = (suite: string) => only === undefined || only === suite;
  const log = (line: string) => { if (!json) process.stderr.write(`${line}\n`); };
  const rows: Row[] = [];
  const skipped: string[] = [];

  if (wanted('tunnel')) {
    log('tunnel: session → relay process → sink, vs direct loopback');
    for (const r of await benchTunnel({ bytes: quick ? 64 << 20 : 256 << 20 })) rows.push({ suite: 'tunnel', ...r });
  }

  if (wanted('vnat')) {
    log('vnat table: 65,536 mappings through the daemon\'s allocator and registry, vs a pair of string Maps');
    for (const r of await benchVnatTable({ mappings: 65_536, runs: quick ? 3 : 5, log })) rows.push({ suite: 'vnat table', ...r });
  }

  const missing = missingNetworkPrivileges();
  if (missing) {
    skipped.push(`packet path (TUN in a namespace): ${missing}`);
  } else {
    if (wanted('packet')) {
      log('packet path: TUN + system stack NAT in a namespace, vs direct loopback');
      for (const r of await benchPacketPath({ bytes: quick ? 128 << 20 : 512 << 20, runs: quick ? 3 : 5, log })) rows.push({ suite: 'packet path', ...r });
    }
    const tpv = join(__dirname, '..', '..', 'dist', 'tpv.js');
    const vnatOnly = only === 'vnat-lab';
    if (!wanted('lab') && !vnatOnly) {
      // not asked for
    } else if (!existsSync(tpv)) {
      skipped.push('lab paths: dist/tpv.js is missing (run `node scripts/build.mjs`)');
    } else {
      log(vnatOnly
        ? 'lab: the VNAT table at 65,536 mappings through the connected daemon'
        : 'lab paths: direct route, kubectl port-forward, sshuttle and the daemon (VNAT virtual IP) to one pod, interleaved');
      for (const r of await benchLabPaths({
        runs: quick ? 3 : 5, bytes: quick ? 64 << 20 : 256 << 20, connections: quick ? 100 : 300, queries: quick ? 2000 : 10000, flows: 10_000,
        vnatMappings: 65_536, vnatOnly, log, tpv, profileDir,
      })) rows.push({ suite: 'lab paths', ...r });
    }
  }

  if (json) {
    process.stdout.write(`${JSON.stringify({ rows, skipped }, null, 2)}\n`);
    return;
  }
  const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
  const table = rows.map((r) => [r.suite, r.name, `${fmt(r.baseline)} ${r.unit}`, `${fmt(r.measured)} ${r.unit}`, r.ratio.toFixed(2)]);
  const headers = ['SUITE', 'MEASURE', 'BASELINE', 'MEASURED', 'RATIO'];
  const widths = headers.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)));
  for (const line of [headers, ...table]) process.stdout.write(`${line.map((c, i) => c.padEnd(widths[i]!)).join('  ')}\n`);
  for (const s of skipped) process.stdout.write(`skipped: ${s}\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`bench: ${e.stack ?? e.message}\n`);
  process.exitCode = 1;
});
