// The client's copy of the VNAT table: deltas applied in order, held while a
// snapshot is fetched, a gap or a missing base asks for a snapshot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { VnatMapping } from '../../../daemon/protocol/rpc';
import { VnatMirror } from '../../../client/daemon/vnatMirror';

const m = (i: number, extra: Partial<VnatMapping> = {}): VnatMapping => ({
  realIp: `10.132.${i >> 8}.${i & 255}`, virtualIp: `246.1.${i >> 8}.${i & 255}`, subnet: '10.132.0.0/16',
  names: [], envVars: [], flows: 0, bytesIn: 0, bytesOut: 0, createdAt: 'then', ...extra,
});
const flows = (mirror: VnatMirror) => [...mirror.mappings.values()].map((x) => `${x.virtualIp}:${x.flows}`).sort();

test('a push before any table asks for a snapshot; the snapshot replaces the table and replays what came after it', () => {
  const mirror = new VnatMirror();
  const first = mirror.push({ seq: 8, upserts: [m(1, { flows: 1 })] });
  assert.deepEqual(first, { resync: true });
  assert.equal(mirror.mappings.size, 0);
  mirror.expectSnapshot();
  // Arrive while the snapshot is out: one already in it, one after it.
  assert.deepEqual(mirror.push({ seq: 9, upserts: [m(1, { flows: 2 })] }), { resync: false });
  assert.deepEqual(mirror.push({ seq: 10, upserts: [m(2, { flows: 5 })] }), { resync: false });
  const step = mirror.snapshot({ seq: 9, mappings: [m(0), m(1, { flows: 2 })] });
  assert.equal(step.resync, false);
  assert.equal(step.change?.full, true);
  assert.deepEqual(flows(mirror), ['246.1.0.0:0', '246.1.0.1:2', '246.1.0.2:5']);
  assert.deepEqual(step.change?.upserts.map((x) => x.virtualIp).sort(), ['246.1.0.0', '246.1.0.1', '246.1.0.2'], 'the change is the table after the replay');
  assert.equal(mirror.lastSeq, 10);
});

test('in order: upserts and removals apply and are reported as they came; an old push is ignored', () => {
  const mirror = new VnatMirror();
  mirror.expectSnapshot();
  mirror.snapshot({ seq: 3, mappings: [m(0), m(1)] });
  const step = mirror.push({ seq: 4, upserts: [m(1, { flows: 1 }), m(2)], removed: ['246.1.0.0'] });
  assert.deepEqual(step.change, { full: false, upserts: [m(1, { flows: 1 }), m(2)], removed: ['246.1.0.0'] });
  assert.deepEqual(flows(mirror), ['246.1.0.1:1', '246.1.0.2:0']);
  assert.deepEqual(mirror.push({ seq: 4, upserts: [m(9)] }), { resync: false }, 'a repeat changes nothing');
  assert.deepEqual(flows(mirror), ['246.1.0.1:1', '246.1.0.2:0']);
});

test('a gap asks for a snapshot and holds what follows; a full push replaces the table whatever came before', () => {
  const mirror = new VnatMirror();
  mirror.expectSnapshot();
  mirror.snapshot({ seq: 1, mappings: [m(0)] });
  assert.deepEqual(mirror.push({ seq: 3, upserts: [m(0, { flows: 3 })] }), { resync: true });
  assert.equal(mirror.awaitingSnapshot, true);
  assert.deepEqual(flows(mirror), ['246.1.0.0:0'], 'the push after the gap is not applied alone');
  mirror.expectSnapshot();
  mirror.push({ seq: 4, upserts: [m(0, { flows: 4 })] });
  mirror.snapshot({ seq: 3, mappings: [m(0, { flows: 3 })] });
  assert.deepEqual(flows(mirror), ['246.1.0.0:4']);

  const full = mirror.push({ seq: 5, full: true, upserts: [m(7)] });
  assert.equal(full.change?.full, true);
  assert.deepEqual(flows(mirror), ['246.1.0.7:0'], 'replaced, not merged');
  const fresh = new VnatMirror();
  assert.equal(fresh.push({ seq: 12, full: true, upserts: [] }).resync, false, 'a full push is a table by itself');
  assert.equal(fresh.push({ seq: 13, upserts: [m(1)] }).change?.full, false);
  assert.equal(fresh.mappings.size, 1);
});

test('a gap among the held pushes asks for another snapshot', () => {
  const mirror = new VnatMirror();
  mirror.expectSnapshot();
  mirror.push({ seq: 6, upserts: [m(1)] });
  mirror.push({ seq: 8, upserts: [m(2)] });
  const step = mirror.snapshot({ seq: 5, mappings: [] });
  assert.equal(step.resync, true);
  assert.deepEqual(flows(mirror), ['246.1.0.1:0']);
  assert.equal(mirror.awaitingSnapshot, true);
});

test('whole lists (a daemon without deltas) replace the table', () => {
  const mirror = new VnatMirror();
  mirror.replace([m(1), m(2)]);
  assert.equal(mirror.mappings.size, 2);
  assert.deepEqual(mirror.clear(), { full: true, upserts: [], removed: [] });
  assert.equal(mirror.mappings.size, 0);
});

test('at 65,536 mappings a one-entry push costs one entry', () => {
  const mirror = new VnatMirror();
  mirror.expectSnapshot();
  mirror.snapshot({ seq: 0, mappings: Array.from({ length: 65_536 }, (_, i) => m(i)) });
  const t0 = process.hrtime.bigint();
  for (let s = 1; s <= 1000; s++) mirror.push({ seq: s, upserts: [m(s, { flows: s })] });
  const usPerPush = Number(process.hrtime.bigint() - t0) / 1000 / 1000;
  assert.equal(mirror.mappings.size, 65_536);
  assert.equal(mirror.mappings.get('246.1.3.232')?.flows, 1000);
  assert.ok(usPerPush < 200, `${usPerPush.toFixed(1)} µs per push`);
});
