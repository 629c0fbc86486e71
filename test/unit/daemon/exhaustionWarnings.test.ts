// A full virtual range is reported in the log with what to change, once a
// minute per subnet; DNS itself can only answer SERVFAIL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExhaustionWarnings } from '../../../daemon/vnat/exhaustionWarnings';
import { VirtualIpAllocator, VirtualSubnetExhaustedError } from '../../../daemon/vnat/virtualIpAllocator';

test('an exhausted range is logged with the fix, at most once a minute per subnet', () => {
  const logged: string[] = [];
  let now = 1_000_000;
  const w = new ExhaustionWarnings((m) => logged.push(m), 60_000, () => now);
  const a = new VirtualSubnetExhaustedError('10.132.0.0/16', '246.1.0.0/30', 4n);
  const b = new VirtualSubnetExhaustedError('10.96.0.0/12', '246.2.0.0/30', 4n);
  w.report(a, 'DNS answer for x.default.svc.cluster.local');
  w.report(a, 'DNS answer for y.default.svc.cluster.local');
  w.report(b, 'DNS answer for z.default.svc.cluster.local');
  assert.equal(logged.length, 2, 'one line per subnet');
  assert.match(logged[0]!, /^DNS answer for x\.default\.svc\.cluster\.local: no virtual IP left for cluster subnet 10\.132\.0\.0\/16/);
  assert.match(logged[0]!, /set routing\.virtualSubnet to a larger subnet/);
  now += 59_999;
  w.report(a, 'again');
  assert.equal(logged.length, 2);
  now += 1;
  w.report(a, 'again');
  assert.equal(logged.length, 3, 'a minute later it is said again');
});

test('other errors are not reported as exhaustion', () => {
  const logged: string[] = [];
  const w = new ExhaustionWarnings((m) => logged.push(m));
  w.report(new Error('cluster DNS timed out'), 'DNS');
  w.report('a string', 'DNS');
  assert.deepEqual(logged, []);
});

test('the allocator throws the error this reports once its range is full', () => {
  const alloc = new VirtualIpAllocator([{ realSubnet: '10.132.0.0/16', virtualRange: '246.1.0.0/30' }]);
  const seen: string[] = [];
  const w = new ExhaustionWarnings((m) => seen.push(m));
  let given = 0;
  for (let i = 1; i <= 10; i++) {
    try { if (alloc.toVirtual(`10.132.0.${i}`) !== undefined) given++; } catch (e) { w.report(e, `10.132.0.${i}`); }
  }
  assert.ok(given >= 1 && given < 10, `a /30 gives out a few addresses, not ten (gave ${given})`);
  assert.equal(seen.length, 1);
  assert.match(seen[0]!, /all \d+ addresses of its virtual range 246\.1\.0\.0\/30 are in use/);
});
