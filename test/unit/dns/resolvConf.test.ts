import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseResolvConf } from '../../../daemon/dns/resolvConf';

test('nameservers, search list and ndots as glibc reads them', () => {
  const conf = parseResolvConf([
    '# corporate',
    'domain old.example',
    'search Corp.Example. lab.example',
    'nameserver 10.0.0.53',
    'nameserver fe80::1%eth0 ; link-local',
    'nameserver 10.0.0.53',
    'nameserver not-an-ip',
    'options rotate ndots:3 timeout:1',
  ].join('\n'));
  assert.deepEqual(conf.nameservers, ['10.0.0.53', 'fe80::1']);
  assert.deepEqual(conf.searchDomains, ['corp.example', 'lab.example']);
  assert.equal(conf.ndots, 3);
});

test('the last of search/domain wins; defaults when absent', () => {
  assert.deepEqual(parseResolvConf('search a.example\ndomain b.example\n').searchDomains, ['b.example']);
  const empty = parseResolvConf('');
  assert.deepEqual(empty, { nameservers: [], searchDomains: [], ndots: 1 });
});
