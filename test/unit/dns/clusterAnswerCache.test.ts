import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import type { Answer } from 'dns-packet';
import { ClusterAnswerCache } from '../../../daemon/dns/clusterAnswerCache';
import type { ClusterLookup } from '../../../daemon/dns/clusterResolver';

const a = (ip: string, ttl: number): Answer => ({ type: 'A', name: 'echo.default.svc.cluster.local', ttl, data: ip } as Answer);

test('an answer is served from the cache for its TTL (capped at the maximum), then fetched again', async () => {
  let t = 0;
  let fetches = 0;
  const cache = new ClusterAnswerCache({ maxTtlSeconds: 5, now: () => t });
  const fetch = async (): Promise<ClusterLookup> => { fetches++; return { rcode: 'NOERROR', answers: [a('10.130.1.1', 30)] }; };
  await cache.lookup('echo.default.svc.cluster.local', 'A', fetch);
  t = 4_900;
  const again = await cache.lookup('echo.default.svc.cluster.local', 'A', fetch);
  assert.equal(fetches, 1);
  assert.equal(again.rcode === 'NOERROR' && (again.answers[0] as { data: string }).data, '10.130.1.1');
  t = 5_001; // the cap (5 s), not the answer's 30 s
  await cache.lookup('echo.default.svc.cluster.local', 'A', fetch);
  assert.equal(fetches, 2);
  await cache.lookup('echo.default.svc.cluster.local', 'AAAA', fetch);
  assert.equal(fetches, 3, 'another record type is another entry');
});

test('identical lookups in flight share one fetch; a failure is not cached', async () => {
  let fetches = 0;
  let release!: (l: ClusterLookup) => void;
  const cache = new ClusterAnswerCache({ maxTtlSeconds: 5 });
  const slow = () => { fetches++; return new Promise<ClusterLookup>((r) => { release = r; }); };
  const both = Promise.all([cache.lookup('x.default.svc.cluster.local', 'A', slow), cache.lookup('x.default.svc.cluster.local', 'A', slow)]);
  release({ rcode: 'NXDOMAIN' });
  const [one, two] = await both;
  assert.equal(fetches, 1);
  assert.deepEqual(one, two);
  const failing = async (): Promise<ClusterLookup> => { fetches++; throw new Error('tunnel down'); };
  await assert.rejects(cache.lookup('y.default.svc.cluster.local', 'A', failing), /tunnel down/);
  await assert.rejects(cache.lookup('y.default.svc.cluster.local', 'A', failing), /tunnel down/);
  assert.equal(fetches, 3, 'each failed lookup is tried again');
});

test('empty answers (NODATA) are not kept, and the oldest entries go first past the size limit', async () => {
  let fetches = 0;
  const cache = new ClusterAnswerCache({ maxTtlSeconds: 5, maxEntries: 2 });
  const empty = async (): Promise<ClusterLookup> => { fetches++; return { rcode: 'NOERROR', answers: [] }; };
  await cache.lookup('n.default.svc.cluster.local', 'AAAA', empty);
  await cache.lookup('n.default.svc.cluster.local', 'AAAA', empty);
  assert.equal(fetches, 2);
  const ok = async (): Promise<ClusterLookup> => { fetches++; return { rcode: 'NOERROR', answers: [a('10.130.1.1', 5)] }; };
  for (const n of ['a', 'b', 'c']) await cache.lookup(`${n}.default.svc.cluster.local`, 'A', ok);
  fetches = 0;
  await cache.lookup('a.default.svc.cluster.local', 'A', ok);
  await cache.lookup('c.default.svc.cluster.local', 'A', ok);
  assert.equal(fetches, 1, 'a was evicted, c was kept');
});
