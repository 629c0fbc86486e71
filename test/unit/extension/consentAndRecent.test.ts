import { test } from 'node:test';
import assert from 'node:assert/strict';
import { consentText } from '../../../extension/daemon/consentMessage';
import { recentFirst, remember } from '../../../extension/commands/recentFirst';

test('the consent dialog lists the device, the routes, DNS, and how the prompt will look', () => {
  const t = consentText({
    launcher: 'pkexec', device: 'tpv0', subnets: ['10.132.0.0/16'], serviceSubnetDiscovered: true,
    context: 'lab', namespaces: ['default', 'team'], clusterDomain: 'cluster.local', reason: 'start',
  });
  assert.equal(t.message, 'Start the Telepresence daemon as root?');
  assert.match(t.detail, /creates the network device tpv0 \(TUN\)/);
  assert.match(t.detail, /routes through tpv0 for: 10\.132\.0\.0\/16, the service subnet of "lab"/);
  assert.match(t.detail, /answers DNS for cluster\.local and the namespaces default, team; all other names keep using your resolver/);
  assert.match(t.detail, /polkit/);
  const r = consentText({ launcher: 'sudo', device: 'tpv0', subnets: [], serviceSubnetDiscovered: false, context: 'lab', namespaces: [], clusterDomain: 'cluster.local', reason: 'replace', replaceDetail: 'the running daemon is version 0.0.9, older than 0.1.0' });
  assert.equal(r.message, 'Restart the Telepresence daemon with this version?');
  assert.match(r.detail, /^the running daemon is version 0\.0\.9, older than 0\.1\.0\./);
  assert.match(r.detail, /the cluster subnets learnt when connecting/);
  assert.match(r.detail, /sudo asks for your password/);
});

test('last used first, then the original order', () => {
  assert.deepEqual(recentFirst(['a', 'b', 'c', 'd'], ['c', 'a'], (x) => x), ['c', 'a', 'b', 'd']);
  assert.deepEqual(recentFirst(['a', 'b'], ['gone', 'b'], (x) => x), ['b', 'a']);
  assert.deepEqual(remember(['x', 'y', 'z'], 'y'), ['y', 'x', 'z']);
  assert.deepEqual(remember(['1', '2', '3'], '4', 3), ['4', '1', '2']);
});
