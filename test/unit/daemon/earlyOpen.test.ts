import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EarlyOpenPolicy } from '../../../daemon/session/earlyOpenPolicy';
import { FlowForwarder, type TunnelOpener } from '../../../daemon/session/flowForwarder';
import { MappingRegistry } from '../../../daemon/session/mappingRegistry';
import { Logger } from '../../../daemon/log/logger';
import { TunnelError } from '../../../daemon/tunnel/tunnelErrors';
import type { TunnelStream } from '../../../daemon/tunnel/tunnelStream';
import { PassThrough } from 'node:stream';

test('a destination is cold until a dial to it succeeds, warm for a while after, and cold again after any failure', () => {
  const p = new EarlyOpenPolicy({ warmForMs: 1000 });
  const d = EarlyOpenPolicy.key('10.132.0.2', 80);
  assert.equal(p.mayOpenEarly(d, 0), false, 'first connects wait for the dial');
  p.dialled(d, 100);
  assert.equal(p.mayOpenEarly(d, 1100), true);
  assert.equal(p.mayOpenEarly(d, 1101), false, 'warmth expires');
  assert.equal(p.size, 0, 'an expired destination is forgotten');
  p.dialled(d, 2000);
  p.failed(d);
  assert.equal(p.mayOpenEarly(d, 2001), false);
  assert.equal(p.mayOpenEarly(EarlyOpenPolicy.key('10.132.0.2', 81), 2001), false, 'ports are separate destinations');
});

test('the policy remembers a bounded number of destinations, forgetting the least recently dialled', () => {
  const p = new EarlyOpenPolicy({ maxDestinations: 2 });
  p.dialled('a', 1); p.dialled('b', 2); p.dialled('a', 3); p.dialled('c', 4);
  assert.equal(p.size, 2);
  assert.equal(p.mayOpenEarly('b', 5), false, 'b was dialled least recently');
  assert.equal(p.mayOpenEarly('a', 5), true);
  assert.equal(p.mayOpenEarly('c', 5), true);
});

/** A tunnel whose dials succeed or fail as told, recording which kind of open each connection used. */
function fakeTunnel(outcome: { fail?: string }) {
  const used: string[] = [];
  const settle = () => (outcome.fail ? Promise.reject(new TunnelError(outcome.fail as 'ECONNREFUSED', 'dial failed')) : Promise.resolve());
  const tunnel: TunnelOpener = {
    openTcp: async () => { used.push('wait'); await settle(); return new PassThrough() as unknown as TunnelStream; },
    openTcpEarly: () => {
      used.push('early');
      const opened = settle();
      opened.catch(() => undefined);
      return { stream: new PassThrough() as unknown as TunnelStream, opened };
    },
    openUdp: async () => { throw new Error('no udp here'); },
  };
  return { tunnel, used };
}

test('the flow forwarder waits for the first dial, opens early while the destination answers, and waits again after a failure', async () => {
  const outcome: { fail?: string } = {};
  const { tunnel, used } = fakeTunnel(outcome);
  const registry = new MappingRegistry({ toVirtual: () => undefined, toReal: () => undefined, subnetOf: () => undefined }, () => undefined);
  const fwd = new FlowForwarder(tunnel, registry, (ip) => ip, new Logger(undefined).scoped('test'));
  const flow = { srcIp: '100.64.0.1', srcPort: 40000, dstIp: '10.132.0.2', dstPort: 80 };
  try {
    assert.equal((await fwd.admitTcp(flow)).action, 'accept');
    assert.equal((await fwd.admitTcp(flow)).action, 'accept');
    outcome.fail = 'ECONNREFUSED';
    assert.equal((await fwd.admitTcp(flow)).action, 'accept', 'an early open is admitted before its dial is known');
    await new Promise((r) => setImmediate(r));
    assert.equal((await fwd.admitTcp(flow)).action, 'refuse', 'after the failure the next connect waits and is refused exactly');
    assert.deepEqual(used, ['wait', 'early', 'early', 'wait']);
  } finally {
    fwd.close();
  }
});
