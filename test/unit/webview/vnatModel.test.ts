// The VNAT view's row model at the scale the daemon allows (65,536
// mappings): a whole table once, then deltas that cost their own rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { VnatMapping } from '../../../daemon/protocol/rpc';
import { MAX_RENDERED_ROWS, VnatRowModel } from '../../../webview/vnatModel';
import { summaryText } from '../../../webview/vnatRows';

const m = (i: number, extra: Partial<VnatMapping> = {}): VnatMapping => ({
  realIp: `10.132.${i >> 8}.${i & 255}`, virtualIp: `246.1.${i >> 8}.${i & 255}`, subnet: '10.132.0.0/16',
  names: [`${i}.default.pod.cluster.local`], envVars: [], flows: 0, bytesIn: 0, bytesOut: 0, createdAt: 'then', ...extra,
});
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

/** 0..n-1 in a scrambled order, as a daemon's Map may list them after a reconnect. */
function scrambled(n: number): VnatMapping[] {
  return Array.from({ length: n }, (_, i) => m((i * 40_503) % n));
}

test('65,536 rows: the whole table once, then a one-entry delta costs no sort and one new row object', () => {
  const model = new VnatRowModel();
  let t0 = process.hrtime.bigint();
  model.apply({ full: true, upserts: scrambled(65_536), removed: [] });
  const first = model.view('');
  const fullMs = ms(t0);
  assert.equal(first.total, 65_536);
  assert.equal(first.matched, 65_536);
  assert.equal(first.rows.length, MAX_RENDERED_ROWS);
  assert.deepEqual(first.rows.slice(0, 3).map((r) => r.virtualIp), ['246.1.0.0', '246.1.0.1', '246.1.0.2']);
  const lastShown = MAX_RENDERED_ROWS - 1;
  assert.equal(first.rows.at(-1)!.virtualIp, `246.1.${lastShown >> 8}.${lastShown & 255}`);
  assert.equal(model.sorts, 1);

  t0 = process.hrtime.bigint();
  model.apply({ full: false, upserts: [m(3, { flows: 7 })], removed: [] });
  const next = model.view('');
  const deltaMs = ms(t0);
  assert.equal(model.sorts, 1, 'no sort for an update');
  assert.equal(next.rows[3]!.flows, 7);
  const changed = next.rows.filter((r, i) => r !== first.rows[i]).map((r) => r.key);
  assert.deepEqual(changed, ['246.1.0.3'], 'only that row is a new object (the grid rewrites only its cells)');
  console.log(`# 65,536 rows: whole table ${fullMs.toFixed(0)} ms, a one-entry delta ${deltaMs.toFixed(2)} ms`);
  assert.ok(deltaMs < 50, `a one-entry delta took ${deltaMs.toFixed(1)} ms`);
  assert.ok(fullMs < 3000, `the whole table took ${fullMs.toFixed(0)} ms`);
});

test('a few new rows are inserted in order without a sort; many at once sort once', () => {
  const model = new VnatRowModel();
  model.apply({ full: true, upserts: [m(10), m(300), m(20)], removed: [] });
  model.view('');
  const sorts = model.sorts;
  model.apply({ full: false, upserts: [m(15), m(1), m(299)], removed: [] });
  assert.deepEqual(model.view('').rows.map((r) => r.virtualIp), ['246.1.0.1', '246.1.0.10', '246.1.0.15', '246.1.0.20', '246.1.1.43', '246.1.1.44']);
  assert.equal(model.sorts, sorts);
  model.apply({ full: false, upserts: Array.from({ length: 1000 }, (_, i) => m(1000 + i)), removed: [] });
  const v = model.view('');
  assert.equal(model.sorts, sorts + 1);
  assert.equal(v.total, 1006);
  assert.deepEqual(v.rows.slice(0, 2).map((r) => r.virtualIp), ['246.1.0.1', '246.1.0.10']);
});

test('removed rows go; a full update replaces every row', () => {
  const model = new VnatRowModel();
  model.apply({ full: true, upserts: [m(1), m(2), m(3)], removed: [] });
  model.apply({ full: false, upserts: [], removed: ['246.1.0.2', '246.1.9.9'] });
  assert.deepEqual(model.view('').rows.map((r) => r.virtualIp), ['246.1.0.1', '246.1.0.3']);
  model.apply({ full: true, upserts: [m(7)], removed: [] });
  assert.deepEqual(model.view('').rows.map((r) => r.virtualIp), ['246.1.0.7']);
  model.apply({ full: true, upserts: [], removed: [] });
  assert.equal(model.view('').total, 0);
});

test('the filter searches all 65,536 rows, lists at most the cap, and the summary says so', () => {
  const model = new VnatRowModel();
  model.apply({ full: true, upserts: scrambled(65_536), removed: [] });
  model.apply({ full: false, upserts: [m(40_000, { envVars: ['DB_HOST'] })], removed: [] });
  const t0 = process.hrtime.bigint();
  const db = model.view('db_host');
  const filterMs = ms(t0);
  assert.deepEqual(db.rows.map((r) => r.realIp), ['10.132.156.64']);
  assert.equal(db.matched, 1);
  const wide = model.view('10.132.1');
  assert.equal(wide.rows.length, MAX_RENDERED_ROWS);
  assert.ok(wide.matched > MAX_RENDERED_ROWS);
  assert.equal(summaryText(wide.total, wide.matched, '10.132.1', wide.rows.length),
    `${wide.matched} of 65536 mappings match "10.132.1"; the first ${MAX_RENDERED_ROWS} by virtual IP are listed, filter to find others`);
  assert.equal(summaryText(65_536, 65_536, '', MAX_RENDERED_ROWS), `65536 mappings; the first ${MAX_RENDERED_ROWS} by virtual IP are listed, filter to find others`);
  assert.equal(summaryText(3, 3, ''), '3 mappings');
  assert.ok(filterMs < 500, `filtering 65,536 rows took ${filterMs.toFixed(0)} ms`);
});
