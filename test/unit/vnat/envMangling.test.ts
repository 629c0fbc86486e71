import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mangleEnv, type EnvIpTranslator } from '../../../daemon/vnat/envMangling';
import { VirtualIpAllocator } from '../../../daemon/vnat/virtualIpAllocator';

function translator(opts: { v6?: boolean } = {}): EnvIpTranslator & { calls: string[] } {
  const blocks = [{ realSubnet: '10.130.0.0/16', virtualRange: '246.246.0.0/17' }, { realSubnet: '10.132.0.0/16', virtualRange: '246.246.128.0/17' }];
  if (opts.v6) blocks.push({ realSubnet: 'fd00:10::/64', virtualRange: 'fd99::/96' });
  const a = new VirtualIpAllocator(blocks);
  const calls: string[] = [];
  return { calls, families: a.families, toVirtual: (ip) => { calls.push(ip); return a.toVirtual(ip); } };
}

const one = (value: string, t = translator()) => mangleEnv({ V: value }, t).env.V;

test('service-link variables become virtual IPs and are reported', () => {
  const t = translator();
  const { env, references } = mangleEnv({ REDIS_SERVICE_HOST: '10.130.0.5', REDIS_SERVICE_PORT: '6379', REDIS_PORT: 'tcp://10.130.0.5:6379' }, t);
  assert.deepEqual(env, { REDIS_SERVICE_HOST: '246.246.0.0', REDIS_SERVICE_PORT: '6379', REDIS_PORT: 'tcp://246.246.0.0:6379' });
  assert.deepEqual(references, [
    { variable: 'REDIS_SERVICE_HOST', realIp: '10.130.0.5', virtualIp: '246.246.0.0' },
    { variable: 'REDIS_PORT', realIp: '10.130.0.5', virtualIp: '246.246.0.0' },
  ]);
});

test('URLs, host:port and comma lists', () => {
  const t = translator();
  assert.equal(one('http://user:pw@10.130.1.1:8080/path?x=10.132.0.9', t), 'http://user:pw@246.246.0.0:8080/path?x=246.246.128.0');
  assert.equal(one('10.130.1.1:9092,10.130.1.2:9092, 10.132.0.9', t), '246.246.0.0:9092,246.246.0.1:9092, 246.246.128.0');
});

test('not inside longer digit runs: 110.130.0.51, 10.130.0.5.1, 210.130.0.5', () => {
  for (const v of ['110.130.0.51', '10.130.0.5.1', '1.10.130.0.5', '210.130.0.5', '10.130.0.51234']) assert.equal(one(v), v, v);
});

test('addresses next to letters and punctuation are still literals', () => {
  assert.equal(one('host=10.130.0.5;'), 'host=246.246.0.0;');
  assert.equal(one('(10.130.0.5)'), '(246.246.0.0)');
  assert.equal(one('at 10.130.0.5.'), 'at 246.246.0.0.', 'a sentence dot is not a fifth octet');
});

test('addresses outside VNAT subnets and non-canonical octets are untouched', () => {
  for (const v of ['10.131.0.5', '8.8.8.8', '010.130.0.5', '10.130.0.256', '999.130.0.5']) assert.equal(one(v), v, v);
});

test('values without IPs come back byte for byte (and the same string)', () => {
  const env = { A: 'plain', B: '', C: 'ümlaut 10.x.y.z', D: 'version 1.2.3', E: 'a\u0000b' };
  const { env: out, references } = mangleEnv(env, translator());
  assert.deepEqual(out, env);
  assert.equal(references.length, 0);
});

test('each IP is reported once per variable, in first-seen order', () => {
  const { references } = mangleEnv({ LIST: '10.130.0.1,10.130.0.1,10.132.0.1' }, translator());
  assert.deepEqual(references.map((r) => r.realIp), ['10.130.0.1', '10.132.0.1']);
});

test('IPv6 literals: bare, [v6]:port in URLs, lists', () => {
  const t = translator({ v6: true });
  assert.equal(one('fd00:10::5', t), 'fd99::');
  assert.equal(one('http://[fd00:10::5]:8080/', t), 'http://[fd99::]:8080/');
  assert.equal(one('fd00:10::6,fd00:10::5', t), 'fd99::1,fd99::');
  assert.equal(one('fd00:10:0:0:0:0:0:7', t), 'fd99::2', 'any spelling');
});

test('IPv6 next to a key colon or a sentence dot', () => {
  const t = translator({ v6: true });
  assert.equal(one('addr=fd00:10::5.', t), 'addr=fd99::.');
  assert.equal(one('[fd00:10::5]', t), '[fd99::]');
});

test('IPv6 inside words, times, MACs and other-subnet addresses are untouched', () => {
  const t = translator({ v6: true });
  for (const v of ['12:30:45', 'aa:bb:cc:dd:ee:ff', 'fd00:11::5', 'xfd00:10::5', 'fd00:10::5z', '::1']) assert.equal(one(v, t), v, v);
});

test('mixed families in one value', () => {
  assert.equal(one('10.130.0.5 and [fd00:10::5]:80', translator({ v6: true })), '246.246.0.0 and [fd99::]:80');
});

test('only families with VNAT subnets are scanned', () => {
  const t = translator();
  assert.equal(one('fd00:10::5 10.130.0.5', t), 'fd00:10::5 246.246.0.0');
  assert.deepEqual(t.calls, ['10.130.0.5'], 'no IPv6 candidate was even looked up');
  const v6only = new VirtualIpAllocator([{ realSubnet: 'fd00:10::/64', virtualRange: 'fd99::/96' }]);
  const calls: string[] = [];
  mangleEnv({ V: '10.130.0.5' }, { families: v6only.families, toVirtual: (ip) => { calls.push(ip); return v6only.toVirtual(ip); } });
  assert.deepEqual(calls, []);
});

test('a v4-mapped IPv6 literal has its IPv4 part translated when only IPv4 is mapped', () => {
  assert.equal(one('::ffff:10.130.0.5'), '::ffff:246.246.0.0');
});
