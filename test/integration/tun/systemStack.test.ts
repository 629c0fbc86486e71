// The system stack on a real TUN device inside a network namespace: a client
// in the namespace dials routed addresses and the stack's flow handler (an
// echo server in stackHarness.ts) answers through the kernel's own TCP stack.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { createNetns, deleteNetns, uniquePrefix } from '../../support/netns';
import { missingNetworkPrivileges } from '../../support/privileges';
import { runClient, startHarness, type Harness } from './nsProcesses';

const skip = missingNetworkPrivileges();

describe('system stack on a TUN device', { skip }, () => {
  const ns = uniquePrefix('tstk');
  const device = 'tpvt0';
  let harness: Harness;

  before(async () => {
    createNetns(ns);
    harness = await startHarness(ns, {
      device, mtu: 65535, tunIp4: '198.18.0.1', fakeIp4: '198.18.0.2', tunIp6: 'fd00:198::1', fakeIp6: 'fd00:198::2',
      routes: ['10.140.0.0/16', 'fd00:140::/64'],
    });
  });
  after(() => deleteNetns(ns));

  it('hands a connection to 10.140.0.5:80 to the flow handler with its original destination', async () => {
    const before = harness.events.length;
    const r = await runClient<{ ok: number }>(ns, { task: 'concurrent', host: '10.140.0.5', port: 80, count: 1 });
    assert.equal(r.ok, 1);
    const flows = harness.events.slice(before).filter((e) => e.event === 'flow');
    assert.equal(flows.length, 1);
    assert.deepEqual({ ...flows[0], srcPort: 0 }, { event: 'flow', srcIp: '198.18.0.1', srcPort: 0, dstIp: '10.140.0.5', dstPort: 80 });
  });

  it('carries 8 MB both ways intact (IPv4) and 2 MB (IPv6)', async () => {
    const v4 = await runClient<{ sentHash: string; receivedHash: string; bytes: number }>(ns, { task: 'echo-hash', host: '10.140.0.5', port: 80, bytes: 8_000_000 });
    assert.equal(v4.bytes, 8_000_000);
    assert.equal(v4.receivedHash, v4.sentHash);
    const v6 = await runClient<{ sentHash: string; receivedHash: string; bytes: number }>(ns, { task: 'echo-hash', host: 'fd00:140::7', port: 443, bytes: 2_000_000 });
    assert.equal(v6.bytes, 2_000_000);
    assert.equal(v6.receivedHash, v6.sentHash);
    assert.ok(harness.events.some((e) => e.event === 'flow' && e.dstIp === 'fd00:140::7' && e.dstPort === 443));
  });

  it('serves 200 concurrent flows', async () => {
    const r = await runClient<{ ok: number; failed: number; errors: string[] }>(ns, { task: 'concurrent', host: '10.140.3.9', port: 8080, count: 200 });
    assert.deepEqual(r, { ok: 200, failed: 0, errors: [] });
  });

  it('a new connection from the source port of one just closed is a new flow, not a retransmitted SYN', async () => {
    const r = await runClient<{ ok: number; localPort: number; failures: string[] }>(ns, { task: 'same-source-port', host: '10.140.0.5', port: 80, count: 5 });
    assert.deepEqual(r.failures, []);
    assert.equal(r.ok, 5);
  });

  it('round-trips UDP, the reply coming from the address the client sent to', async () => {
    const v4 = await runClient<{ reply: string; from: string; fromPort: number }>(ns, { task: 'udp', host: '10.140.0.53', port: 53, message: 'ping4' });
    assert.deepEqual(v4, { reply: 'echo:ping4', from: '10.140.0.53', fromPort: 53 });
    const v6 = await runClient<{ reply: string; from: string; fromPort: number }>(ns, { task: 'udp', host: 'fd00:140::53', port: 5353, message: 'ping6' });
    assert.deepEqual(v6, { reply: 'echo:ping6', from: 'fd00:140::53', fromPort: 5353 });
  });

  it('makes a refused flow a fast ECONNREFUSED and an unreachable one EHOSTUNREACH', async () => {
    const refused = await runClient<{ code: string; ms: number }>(ns, { task: 'connect-error', host: '10.140.0.5', port: 81 });
    assert.equal(refused.code, 'ECONNREFUSED');
    assert.ok(refused.ms < 100, `refusal took ${refused.ms} ms`);
    const unreachable = await runClient<{ code: string; ms: number }>(ns, { task: 'connect-error', host: '10.140.0.5', port: 82 });
    assert.equal(unreachable.code, 'EHOSTUNREACH');
  });

  it('forwarded data in the worker, not the main thread', async () => {
    harness.send('stats');
    const { stats } = await harness.next('stats');
    assert.ok(stats.fastForwarded! > 1000, JSON.stringify(stats));
    assert.ok(stats.toMain! < stats.fastForwarded! / 10, JSON.stringify(stats));
    assert.equal(stats.droppedRingFull, 0);
  });

  it('removes the device on close', async () => {
    assert.match(execFileSync('ip', ['-n', ns, 'link', 'show', device], { encoding: 'utf8' }), new RegExp(device));
    harness.send('close');
    await harness.next('closed');
    assert.throws(() => execFileSync('ip', ['-n', ns, 'link', 'show', device], { stdio: 'pipe' }), /does not exist/);
  });
});
