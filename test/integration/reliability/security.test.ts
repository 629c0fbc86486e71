// Issue 7, "Security", in the lab: the relay serves only a tunnel that
// presents the session's secret, and nothing the root daemon writes is
// world-writable. The socket's refusal of a second Unix user and the
// credential-plugin rule have their own suites (test/integration/daemon/
// socketAccess.test.ts and credentialPlugins.test.ts); they are not repeated here.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { labDown, labUp, type LabInfo } from '../../lab/labLifecycle';
import { uniquePrefix } from '../../support/netns';
import { missingNetworkPrivileges } from '../../support/privileges';
import type { DaemonStatus } from '../../../daemon/protocol/rpc';
import { DEFAULT_RELAY_PORT } from '../../../daemon/relay/relayConstants';
import { ReliabilityReport } from './reliabilityReport';
import type { ProbeAttempt, ProbeOutcome, ProbeTask } from './tunnelProbe';
import { RELAY_SELECTOR, Workstation } from './workstation';

const skip = missingNetworkPrivileges();
const report = new ReliabilityReport('security', __filename);
after(() => { if (!skip) report.finish(); });

describe('security of the relay and of the daemon\'s files, in the lab', { skip }, () => {
  let lab: LabInfo;
  let ws: Workstation;
  let status: DaemonStatus;

  before(async () => {
    lab = await labUp({ name: uniquePrefix('rs') });
    ws = new Workstation(lab);
    status = await ws.tpvJson<DaemonStatus>('connect', '--namespace', 'default');
    assert.equal(status.connection.state, 'connected', JSON.stringify(status.connection));
    console.log('# also part of issue 7\'s security list, in their own suites: test/integration/daemon/socketAccess.test.ts (a second Unix user is refused by the socket) and test/integration/daemon/credentialPlugins.test.ts (no credential plugin runs as root)');
  });

  after(async () => {
    try {
      if (ws) { await ws.quit().catch(() => undefined); ws.remove(); }
    } finally {
      if (lab) await labDown(lab.name);
    }
  });

  test('the relay answers a HELLO without the session\'s secret with HELLO_REJECT EAUTH and closes; only the right secret opens streams', () =>
    report.check({ area: 'security', check: 'the relay refuses tunnel connections without the session\'s secret' }, async (row) => {
      const pod = status.connection.relay!.pod;
      const secret = Buffer.from((await ws.kubectl('get', 'secret', 'tpv-relay', '-n', 'default', '-o', 'jsonpath={.data.secret}')).stdout, 'base64').toString('utf8');
      assert.ok(secret.length >= 32, `the session secret is only ${secret.length} characters long`);
      const wrong: ProbeAttempt[] = [
        { kind: 'hello', secret: 'wrong', label: 'a wrong secret' },
        { kind: 'hello', secret: '', label: 'an empty secret' },
        { kind: 'hello', secret: secret.slice(0, -1), label: 'the secret minus its last character' },
        { kind: 'hello', secret: `${secret}x`, label: 'the secret plus one character' },
        { kind: 'hello', secret: secret.toUpperCase() === secret ? secret.toLowerCase() : secret.toUpperCase(), label: 'the secret in another case' },
        { kind: 'hello-then-open', secret: 'x'.repeat(60_000), label: 'a 60 kB secret, then an OPEN' },
      ];
      const unauthenticated: ProbeAttempt[] = [
        { kind: 'open-before-hello', label: 'an OPEN to echo:9000 without a HELLO' },
        { kind: 'oversize-hello', label: 'a HELLO announcing 1 MiB' },
        { kind: 'garbage', label: '2 KiB of random bytes' },
      ];
      const right: ProbeAttempt = { kind: 'hello-then-open', secret, label: 'the session\'s secret, then an OPEN' };
      const task: ProbeTask = { kubeconfig: lab.kubeconfig, context: 'lab', namespace: 'default', pod, port: DEFAULT_RELAY_PORT, attempts: [...wrong, ...unauthenticated, right], waitMs: 3000 };
      const outcomes = await ws.helper<ProbeOutcome[] | { error: string }>('tunnelProbe.ts', task, 90_000);
      assert.ok(Array.isArray(outcomes), JSON.stringify(outcomes));
      const byLabel = new Map(outcomes.map((o) => [o.label, o]));
      for (const a of wrong) {
        const o = byLabel.get(a.label)!;
        row.tried++;
        assert.equal(o.error, undefined, `${a.label}: ${o.error}`);
        assert.deepEqual(o.frames.map((f) => `${f.type} ${f.code}`), ['HELLO_REJECT EAUTH'], `${a.label}: the relay answered ${JSON.stringify(o.frames)}`);
        assert.equal(o.closedByRelay, true, `${a.label}: the relay kept the connection open`);
        row.survived++;
      }
      for (const a of unauthenticated) {
        const o = byLabel.get(a.label)!;
        row.tried++;
        assert.ok(!o.frames.some((f) => f.type === 'HELLO_ACK' || f.type === 'OPEN_OK'), `${a.label}: the relay served it: ${JSON.stringify(o.frames)}`);
        assert.equal(o.closedByRelay, true, `${a.label}: the relay kept the connection open`);
        row.survived++;
      }
      const ok = byLabel.get(right.label)!;
      assert.deepEqual(ok.frames.map((f) => f.type), ['HELLO_ACK', 'OPEN_OK'], `the right secret must work (the probe itself is sound): ${JSON.stringify(ok)}`);
      // The daemon's own tunnel was not disturbed by any of it.
      await ws.assertHttpOk('after the probes');
      const restarts = (await ws.kubectl('get', 'pods', '-n', 'default', '-l', RELAY_SELECTOR, '-o', 'jsonpath={.items[0].status.containerStatuses[0].restartCount}')).stdout.trim();
      assert.equal(restarts, '0', 'the relay restarted');
      row.dataLost = null;
      row.note = `${wrong.length} wrong secrets: HELLO_REJECT EAUTH, then closed (${Math.max(...wrong.map((a) => byLabel.get(a.label)!.ms))} ms at most); ${unauthenticated.length} unauthenticated frames: closed, nothing served`;
    }));

  test('nothing the daemon writes (state, journal, log, socket) is world-writable, and the private parts are private', () =>
    report.check({ area: 'security', check: 'files written by the root daemon are not world-writable' }, async (row) => {
      // While connected, so that the journal holds entries.
      assert.equal((await ws.status()).connection.state, 'connected');
      const found: Array<{ path: string; mode: number; kind: string }> = [];
      const walk = (p: string) => {
        const st = lstatSync(p);
        found.push({ path: p, mode: st.mode & 0o7777, kind: st.isDirectory() ? 'dir' : st.isSocket() ? 'socket' : st.isSymbolicLink() ? 'link' : 'file' });
        if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
      };
      for (const p of [ws.stateDir, ws.logFile, ws.socket]) walk(p);
      for (const dir of [`/etc/netns/${lab.workstationNetns}`]) { try { walk(dir); } catch { /* the lab made none */ } }
      const journal = found.filter((f) => f.path.startsWith(join(ws.stateDir, 'journal')));
      assert.ok(journal.some((f) => f.kind === 'file'), `the journal holds no entry while connected: ${JSON.stringify(found)}`);
      const table = found.map((f) => `${f.mode.toString(8).padStart(4, '0')} ${f.kind} ${f.path}`).join('\n');
      console.log(`# files of the daemon:\n${table.split('\n').map((l) => `#   ${l}`).join('\n')}`);
      for (const f of found) {
        row.tried++;
        assert.equal(f.mode & 0o002, 0, `${f.path} is world-writable (${f.mode.toString(8)})`);
        if (f.kind !== 'link') assert.equal(f.mode & 0o6000, 0, `${f.path} is setuid/setgid (${f.mode.toString(8)})`);
        row.survived++;
      }
      const mode = (p: string) => found.find((f) => f.path === p)!.mode;
      assert.equal(mode(ws.socket), 0o600, 'the socket must be 0600 (the peer-credential check is the real gate)');
      assert.equal(mode(ws.logFile), 0o600, 'the log holds cluster names and addresses: 0600');
      assert.equal(mode(join(ws.stateDir, 'journal')), 0o700, 'the journal directory must be 0700');
      for (const f of journal.filter((x) => x.kind === 'file')) assert.equal(f.mode & 0o077, 0, `journal entry ${f.path} is readable by others (${f.mode.toString(8)})`);
      assert.equal(mode(ws.stateDir) & 0o022, 0, 'the state directory must not be group- or world-writable');
      row.dataLost = null;
      row.note = `${found.length} paths: socket 0600, log 0600, journal 0700 with 0600 entries`;
    }));
});
