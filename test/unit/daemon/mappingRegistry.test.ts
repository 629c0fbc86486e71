// The registry's change tracking: which entries a push carries, and how
// byte counters are kept apart from other changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MappingRegistry, type MappingChange, type VirtualAddressTable } from '../../../daemon/session/mappingRegistry';

const table: VirtualAddressTable = {
  toVirtual: (ip) => (ip.startsWith('10.132.') ? `246.1.${ip.slice(7)}` : undefined),
  toReal: (ip) => (ip.startsWith('246.1.') ? `10.132.${ip.slice(6)}` : undefined),
  subnetOf: (ip) => (ip.startsWith('10.132.') ? '10.132.0.0/16' : undefined),
};
const ip = (i: number) => `10.132.${i >> 8}.${i & 255}`;

function registry(): { r: MappingRegistry; told: MappingChange[] } {
  const told: MappingChange[] = [];
  return { r: new MappingRegistry(table, (what) => told.push(what)), told };
}

test('a new mapping is pending until taken, then forgotten', () => {
  const { r, told } = registry();
  assert.equal(r.toVirtual('10.132.0.9'), '246.1.0.9');
  assert.equal(r.toVirtual('192.168.1.1'), undefined);
  assert.deepEqual(r.pending, { entries: 1, counters: 0 });
  assert.deepEqual(told, ['entry']);
  const taken = r.take({ counters: false });
  assert.deepEqual(taken.map((m) => [m.realIp, m.virtualIp, m.subnet, m.flows]), [['10.132.0.9', '246.1.0.9', '10.132.0.0/16', 0]]);
  assert.deepEqual(r.pending, { entries: 0, counters: 0 });
  assert.deepEqual(r.take({ counters: true }), []);
  assert.equal(r.size, 1, 'taking forgets the change, not the mapping');
});

test('many changes to one entry before a take: told once, taken once, as it is now', () => {
  const { r, told } = registry();
  r.toVirtual(ip(1));
  r.noteName(ip(1), 'a.default');
  r.noteName(ip(1), 'a.default'); // no change
  r.noteEnvVar(ip(1), 'A_HOST');
  r.flowStarted(ip(1));
  r.flowStarted(ip(1));
  assert.deepEqual(told, ['entry']);
  const [m, ...rest] = r.take({ counters: false });
  assert.deepEqual(rest, []);
  assert.deepEqual({ names: m!.names, envVars: m!.envVars, flows: m!.flows }, { names: ['a.default'], envVars: ['A_HOST'], flows: 2 });
  r.noteName(ip(1), 'b.default');
  assert.deepEqual(told, ['entry', 'entry'], 'told again after the take');
  assert.deepEqual(r.take({ counters: false }).map((x) => x.names), [['a.default', 'b.default']]);
});

test('counters alone: told once per take, carried only when asked, otherwise still pending', () => {
  const { r, told } = registry();
  const flow = r.flowStarted(ip(2))!;
  r.take({ counters: true });
  told.length = 0;
  for (let i = 0; i < 1000; i++) { flow.in(100); flow.out(1); }
  assert.deepEqual(told, ['counters'], 'one word for a thousand packets');
  assert.deepEqual(r.pending, { entries: 0, counters: 1 });
  assert.deepEqual(r.take({ counters: false }), [], 'not carried when counters are not due');
  assert.deepEqual(r.pending, { entries: 0, counters: 1 }, 'still pending');
  flow.in(5);
  assert.deepEqual(told, ['counters'], 'not told again while pending');
  const [m] = r.take({ counters: true });
  assert.deepEqual([m!.bytesIn, m!.bytesOut], [100_005, 1000]);
  assert.deepEqual(r.pending, { entries: 0, counters: 0 });
  flow.out(1);
  assert.deepEqual(told, ['counters', 'counters'], 'told again after the take');
});

test('an entry changed otherwise carries its counters and leaves the counters pending list', () => {
  const { r } = registry();
  const flow = r.flowStarted(ip(3))!;
  const other = r.flowStarted(ip(4))!;
  r.take({ counters: true });
  flow.in(10);
  other.in(20);
  r.noteName(ip(3), 'three.default');
  assert.deepEqual(r.pending, { entries: 1, counters: 1 }, 'ip 3 counts once, as an entry');
  const taken = r.take({ counters: false });
  assert.deepEqual(taken.map((m) => [m.realIp, m.bytesIn]), [[ip(3), 10]]);
  assert.deepEqual(r.pending, { entries: 0, counters: 1 });
  assert.deepEqual(r.take({ counters: true }).map((m) => [m.realIp, m.bytesIn]), [[ip(4), 20]]);
});

test('build: false forgets the same changes without building them', () => {
  const { r } = registry();
  const flow = r.flowStarted(ip(5))!;
  flow.in(1);
  assert.deepEqual(r.take({ counters: true, build: false }), []);
  assert.deepEqual(r.pending, { entries: 0, counters: 0 });
  flow.in(1);
  assert.deepEqual(r.pending, { entries: 0, counters: 1 }, 'the counter flag was reset, so the next move is noticed');
});

test('at 65,536 mappings, a change to one is a take of one', () => {
  const { r } = registry();
  for (let i = 0; i < 65_536; i++) r.noteName(ip(i), `n${i}.default`);
  assert.equal(r.take({ counters: true }).length, 65_536);
  const t0 = process.hrtime.bigint();
  r.flowStarted(ip(40_000));
  const taken = r.take({ counters: true });
  const us = Number(process.hrtime.bigint() - t0) / 1000;
  assert.deepEqual(taken.map((m) => m.realIp), [ip(40_000)]);
  assert.equal(r.list().length, 65_536);
  assert.ok(us < 5_000, `one change took ${us.toFixed(0)} µs to take`);
});
