// Host changes in a workstation namespace with a VPN: whatever ends the
// daemon, the routing table, rules, nftables ruleset, resolv.conf and links
// are byte-identical to before connect.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffSnapshots, snapshotNamespace } from '../../support/hostSnapshot';
import { ip, nsExec } from '../../support/netns';
import { missingNetworkPrivileges } from '../../support/privileges';
import { inNetworkNamespace } from '../../../daemon/system/commandRunner';
import { Journal } from '../../../daemon/system/journal';
import { DNS_REDIRECT_TABLE, NftDnsRedirectOperation, spawnInNetworkNamespace } from '../../../daemon/system/nftDnsRedirect';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { RouteExistsError, RouteOperation } from '../../../daemon/system/routeOperation';
import { createWorkstation, startDaemonLike, TUN_DEVICE, type Workstation } from './workstationNetns';

const skip = missingNetworkPrivileges();

interface RevertReport { pending?: unknown[]; reverted: string[]; failed: unknown[] }

function ourTablePresent(w: Workstation): boolean {
  return nsExec(w.ws, 'nft', ['list', 'tables']).includes(`table inet ${DNS_REDIRECT_TABLE}`);
}

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('connect then SIGTERM: everything reverted, byte-identical', { skip }, async (t) => {
  const w = createWorkstation('hc');
  t.after(() => w.destroy());
  await w.corpDns.waitFor('ready');
  const before = snapshotNamespace(w.ws);
  const daemon = startDaemonLike(w);
  t.after(() => daemon.kill());
  await daemon.event('ready');
  const during = snapshotNamespace(w.ws);
  assert.match(during['ip route show table all']!, /246\.246\.0\.0\/16 dev tpv0 proto 116/);
  assert.match(during['ip route show table all']!, /10\.130\.0\.0\/16 dev tpv0 proto 116/);
  assert.match(during['ip route show table all']!, /10\.0\.0\.0\/8 dev vpn0 proto kernel/, 'the VPN route is still there');
  assert.match(during['nft list ruleset']!, new RegExp(`table inet ${DNS_REDIRECT_TABLE}`));
  assert.match(during['nft list ruleset']!, /table inet user_rules/);
  assert.equal(during['/etc/resolv.conf'], before['/etc/resolv.conf'], 'resolv.conf is never touched');
  daemon.kill('SIGTERM');
  const report = await daemon.event<RevertReport>('reverted');
  assert.deepEqual(report.failed, []);
  assert.equal(await daemon.exited, 0);
  assert.equal(diffSnapshots(before, snapshotNamespace(w.ws)), '');
});

for (const ownedTable of [true, false]) {
  test(`kill -9 after applying${ownedTable ? '' : ' (plain nft table)'}, then a fresh process reverts from the journal: byte-identical`, { skip }, async (t) => {
    const w = createWorkstation('hk');
    t.after(() => w.destroy());
    await w.corpDns.waitFor('ready');
    const before = snapshotNamespace(w.ws);
    const daemon = startDaemonLike(w, { ownedTable });
    t.after(() => daemon.kill());
    const ready = await daemon.event<{ ownedTable: boolean }>('ready');
    assert.equal(ready.ownedTable, ownedTable);
    daemon.kill('SIGKILL');
    await daemon.exited;
    if (ownedTable) {
      // The kernel drops the owned table as soon as the daemon's nft child sees its stdin close:
      // DNS works again before anyone replays the journal.
      await until('the owned DNS redirect table is gone', () => !ourTablePresent(w));
    } else {
      assert.ok(ourTablePresent(w), 'a plain table outlives the daemon until the journal is replayed');
    }
    assert.notEqual(diffSnapshots(before, snapshotNamespace(w.ws)), '', 'routes are left behind by the kill');

    const fresh = startDaemonLike(w, { mode: 'revert' });
    t.after(() => fresh.kill());
    const report = await fresh.event<RevertReport>('reverted');
    assert.equal(report.pending!.length, 3, 'two routes and the nft table were journaled');
    assert.deepEqual(report.failed, []);
    assert.equal(await fresh.exited, 0);
    assert.equal(diffSnapshots(before, snapshotNamespace(w.ws)), '');

    // Replaying again is harmless.
    const again = startDaemonLike(w, { mode: 'revert' });
    t.after(() => again.kill());
    const second = await again.event<RevertReport>('reverted');
    assert.deepEqual([second.pending, second.reverted, second.failed], [[], [], []]);
  });
}

test('a route that exists already is refused with a clear error and the VPN route is untouched', { skip }, async (t) => {
  const w = createWorkstation('he');
  t.after(() => w.destroy());
  const before = snapshotNamespace(w.ws);
  const run = inNetworkNamespace(w.ws);
  const journal = await Journal.open(w.stateDir, { run });
  await assert.rejects(journal.apply(new RouteOperation('10.0.0.0/8', TUN_DEVICE, run)), (err: Error) => {
    assert.ok(err instanceof RouteExistsError, err.message);
    assert.match(err.message, /already has a route for exactly 10\.0\.0\.0\/8 \("10\.0\.0\.0\/8 dev vpn0 proto kernel scope link src 10\.0\.0\.2"\)/);
    return true;
  });
  assert.deepEqual(journal.records(), []);
  // Our delete names our device and protocol: even asked directly, it cannot remove the VPN's route.
  await new RouteOperation('10.0.0.0/8', 'vpn0', run).revert();
  assert.match(ip(w.ws, 'route', 'show', 'exact', '10.0.0.0/8'), /dev vpn0 proto kernel/);
  assert.equal(diffSnapshots(before, snapshotNamespace(w.ws)), '');
});

test('the owned redirect table goes with its nft process, and the daemon is told', { skip }, async (t) => {
  const w = createWorkstation('ho');
  t.after(() => w.destroy());
  const before = snapshotNamespace(w.ws);
  const run = inNetworkNamespace(w.ws);
  const lost: string[] = [];
  const op = new NftDnsRedirectOperation(
    { nameservers: ['10.0.0.53'], targetV4: '198.18.0.1', bypassMark: 0x54500000, onOwnerLost: (why) => lost.push(why) },
    run, spawnInNetworkNamespace(w.ws),
  );
  const journal = await Journal.open(w.stateDir, { run });
  await journal.apply(op);
  assert.ok(op.ownedByProcess);
  assert.ok(ourTablePresent(w));
  assert.match(nsExec(w.ws, 'nft', ['list', 'table', 'inet', DNS_REDIRECT_TABLE]), /flags owner/);
  const nftPids = execFileSync('ip', ['netns', 'pids', w.ws], { encoding: 'utf8' }).split(/\s+/).filter(Boolean)
    .filter((pid) => { try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'nft'; } catch { return false; } });
  assert.equal(nftPids.length, 1);
  process.kill(Number(nftPids[0]), 'SIGKILL');
  await until('the owner loss is reported', () => lost.length === 1);
  assert.match(lost[0]!, /SIGKILL.*table is gone/);
  assert.ok(!ourTablePresent(w));
  const report = await journal.revertAll();
  assert.deepEqual(report.failed, []);
  await journal.close();
  assert.equal(diffSnapshots(before, snapshotNamespace(w.ws)), '');
});

test('the snapshot diff names what changed', { skip }, async (t) => {
  const w = createWorkstation('hd');
  t.after(() => w.destroy());
  const before = snapshotNamespace(w.ws);
  ip(w.ws, 'route', 'add', '203.0.113.0/24', 'dev', TUN_DEVICE);
  const diff = diffSnapshots(before, snapshotNamespace(w.ws));
  assert.match(diff, /^--- ip route show table all\n\+ 203\.0\.113\.0\/24 dev tpv0 scope link/);
  ip(w.ws, 'route', 'del', '203.0.113.0/24', 'dev', TUN_DEVICE);
  assert.equal(diffSnapshots(before, snapshotNamespace(w.ws)), '');
});
