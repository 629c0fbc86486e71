import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Answer } from 'dns-packet';
import { rewriteClusterAnswers } from '../../../daemon/dns/answerRewrite';

const vnat = new Map([['10.130.0.20', '246.246.0.1'], ['fd00:130::20', 'fd99::1']]);
const toVirtual = (ip: string) => vnat.get(ip);

test('addresses inside VNAT subnets become virtual IPs and are reported', () => {
  const answers: Answer[] = [
    { type: 'A', name: 'echo.default.svc.cluster.local', ttl: 30, data: '10.130.0.20' },
    { type: 'A', name: 'echo.default.svc.cluster.local', ttl: 30, data: '172.16.0.9' },
  ];
  const r = rewriteClusterAnswers(answers, { clusterName: 'echo.default.svc.cluster.local', questionName: 'echo', maxTtlSeconds: 5, toVirtual });
  assert.deepEqual(r.answers.map((a) => [a.name, a.type, (a as { data: string }).data, (a as { ttl: number }).ttl]), [
    ['echo', 'A', '246.246.0.1', 5],
    ['echo', 'A', '172.16.0.9', 5],
  ]);
  assert.deepEqual(r.mappings, [{ name: 'echo.default.svc.cluster.local', queriedName: 'echo', realIp: '10.130.0.20', virtualIp: '246.246.0.1' }]);
  // The input is not mutated (the cluster resolver may cache it).
  assert.equal((answers[0] as { data: string }).data, '10.130.0.20');
});

test('AAAA is rewritten too; short TTLs stay; CNAME chains keep their other owners', () => {
  const answers: Answer[] = [
    { type: 'CNAME', name: 'ext.default.svc.cluster.local', ttl: 2, data: 'db.default.svc.cluster.local' },
    { type: 'AAAA', name: 'db.default.svc.cluster.local', ttl: 600, data: 'fd00:130::20' },
  ];
  const r = rewriteClusterAnswers(answers, { clusterName: 'ext.default.svc.cluster.local', questionName: 'Ext.Default', maxTtlSeconds: 5, toVirtual });
  assert.equal(r.answers[0]!.name, 'Ext.Default');
  assert.equal((r.answers[0] as { ttl: number }).ttl, 2);
  assert.equal(r.answers[1]!.name, 'db.default.svc.cluster.local');
  assert.equal((r.answers[1] as { data: string }).data, 'fd99::1');
  assert.equal((r.answers[1] as { ttl: number }).ttl, 5);
  assert.equal(r.mappings.length, 1);
});

test('the TTL cap is configurable', () => {
  const r = rewriteClusterAnswers([{ type: 'A', name: 'x', ttl: 30, data: '1.2.3.4' }], { clusterName: 'x', questionName: 'x', maxTtlSeconds: 1, toVirtual });
  assert.equal((r.answers[0] as { ttl: number }).ttl, 1);
});
