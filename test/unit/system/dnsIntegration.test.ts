import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterDnsOperation, originalResolverConfig } from '../../../daemon/system/clusterDnsWiring';
import { chooseDnsIntegration, type DnsIntegrationFacts } from '../../../daemon/system/dnsIntegration';
import { isOurResolverFile, macResolverFiles } from '../../../daemon/system/macResolverFiles';
import { dnsRedirectScript, NftDnsRedirectOperation } from '../../../daemon/system/nftDnsRedirect';
import {
  ResolvedLinkOperation, clusterRoutingDomains, resolvedApplyCommands, resolvedDomainArgs, resolvedRevertCommand,
} from '../../../daemon/system/resolvedLinkDns';
import { fakeRunner } from './fakeRunner';

const facts = (over: Partial<DnsIntegrationFacts>): DnsIntegrationFacts => ({
  platform: 'linux', resolvConf: 'nameserver 10.0.0.53\n', nsswitch: 'hosts: files dns\n', resolvedResponds: false, ...over,
});

test('systemd-resolved is chosen only when lookups go through it and it responds', () => {
  assert.equal(chooseDnsIntegration(facts({ resolvConf: 'nameserver 127.0.0.53\noptions edns0\n', resolvedResponds: true })), 'systemd-resolved');
  assert.equal(chooseDnsIntegration(facts({ nsswitch: 'hosts: files mymachines resolve [!UNAVAIL=return] dns\n', resolvedResponds: true })), 'systemd-resolved');
  // Running, but /etc/resolv.conf points elsewhere and nss does not use it: per-link DNS would do nothing.
  assert.equal(chooseDnsIntegration(facts({ resolvedResponds: true })), 'nft-redirect');
  // The stub is configured but resolved does not answer.
  assert.equal(chooseDnsIntegration(facts({ resolvConf: 'nameserver 127.0.0.53\n' })), 'nft-redirect');
  assert.equal(chooseDnsIntegration(facts({ nsswitch: '# hosts: resolve\nhosts: files dns\n', resolvedResponds: true })), 'nft-redirect');
  assert.equal(chooseDnsIntegration(facts({ platform: 'darwin' })), 'macos-resolver');
});

test('resolvectl command lines: per-link server, routing domains, never the default route', () => {
  const spec = {
    link: 'tpv0',
    servers: [{ address: '198.18.0.1' }, { address: 'fd00::1', port: 5353 }],
    routingDomains: clusterRoutingDomains('cluster.local', ['default', 'kube-system', 'Default']),
    searchDomains: ['default.svc.cluster.local'],
  };
  assert.deepEqual(resolvedApplyCommands(spec), [
    ['dns', 'tpv0', '198.18.0.1', '[fd00::1]:5353'],
    ['domain', 'tpv0', 'default.svc.cluster.local', '~cluster.local', '~default', '~kube-system'],
    ['default-route', 'tpv0', 'false'],
  ]);
  assert.deepEqual(resolvedRevertCommand('tpv0'), ['revert', 'tpv0']);
  assert.throws(() => resolvedDomainArgs({ link: 'tpv0', routingDomains: ['bad domain'], searchDomains: [] }), /not a DNS domain/);
  assert.throws(() => resolvedApplyCommands({ ...spec, servers: [] }), /at least one DNS server/);
});

test('the resolved operation runs those commands and its revert tolerates a vanished link', async () => {
  const f = fakeRunner();
  const op = new ResolvedLinkOperation({ link: 'tpv0', servers: [{ address: '198.18.0.1' }], routingDomains: ['cluster.local'], searchDomains: [] }, f.run);
  await op.apply();
  await op.updateDomains(['cluster.local', 'dev'], ['dev.svc.cluster.local']);
  await op.revert();
  assert.deepEqual(f.calls, [
    'resolvectl dns tpv0 198.18.0.1',
    'resolvectl domain tpv0 ~cluster.local',
    'resolvectl default-route tpv0 false',
    'resolvectl domain tpv0 dev.svc.cluster.local ~cluster.local ~dev',
    'resolvectl revert tpv0',
  ]);
  await ResolvedLinkOperation.fromRecord({ kind: 'resolvedLink', link: 'tpv0' }, fakeRunner(() => ({ code: 1, stderr: 'Failed to resolve interface "tpv0": No such device' })).run).revert();
  await assert.rejects(
    ResolvedLinkOperation.fromRecord({ kind: 'resolvedLink', link: 'tpv0' }, fakeRunner(() => ({ code: 1, stderr: 'Access denied' })).run).revert(),
    /Access denied/,
  );
});

test('the nftables redirect: our table only, mark bypass first, per-family targets', () => {
  const plan = dnsRedirectScript({ nameservers: ['10.0.0.53', '10.0.0.54', 'fd00::53'], targetV4: '198.18.0.1', bypassMark: 0x54500000, ownedByProcess: true });
  assert.equal(plan.script,
    'table inet telepresence_vscode { flags owner; chain dns_redirect { type nat hook output priority -100; policy accept; ' +
    'meta mark 0x54500000 return; ' +
    'ip daddr { 10.0.0.53, 10.0.0.54 } udp dport 53 dnat ip to 198.18.0.1:53; ' +
    'ip daddr { 10.0.0.53, 10.0.0.54 } tcp dport 53 dnat ip to 198.18.0.1:53; }; }');
  assert.deepEqual(plan.redirected, ['10.0.0.53', '10.0.0.54']);
  assert.deepEqual(plan.skipped, ['fd00::53']);
  const v6 = dnsRedirectScript({ nameservers: ['fd00::53'], targetV6: 'fd00::1', targetPort: 5353, bypassMark: 7, table: 'x' });
  assert.match(v6.script, /^table inet x \{ chain dns_redirect .* meta mark 0x7 return; ip6 daddr \{ fd00::53 \} udp dport 53 dnat ip6 to \[fd00::1\]:5353; /);
  assert.throws(() => dnsRedirectScript({ nameservers: ['fd00::53'], targetV4: '198.18.0.1', bypassMark: 1 }), /none of the nameservers/);
  assert.throws(() => dnsRedirectScript({ nameservers: ['10.0.0.53'], targetV4: 'fd00::1', bypassMark: 1 }), /not an IPv4 address/);
});

test('without `flags owner` support the redirect falls back to a plain table; revert deletes only our table', async () => {
  const f = fakeRunner((line) => (line.startsWith('nft -c') ? { code: 1, stderr: 'Error: Could not process rule: Operation not supported' } : undefined));
  const op = new NftDnsRedirectOperation({ nameservers: ['10.0.0.53'], targetV4: '198.18.0.1', bypassMark: 1 }, f.run);
  await op.apply();
  assert.equal(op.ownedByProcess, false);
  await op.revert();
  assert.deepEqual(f.calls, ['nft -c -f -', 'nft -f -', 'nft delete table inet telepresence_vscode']);
  // Already gone is fine; any other failure is reported.
  await NftDnsRedirectOperation.fromRecord({ kind: 'nftTable', family: 'inet', table: 'telepresence_vscode' },
    fakeRunner(() => ({ code: 1, stderr: 'Error: Could not process rule: No such file or directory' })).run).revert();
  await assert.rejects(NftDnsRedirectOperation.fromRecord({ kind: 'nftTable', family: 'inet', table: 'telepresence_vscode' },
    fakeRunner(() => ({ code: 1, stderr: 'Error: syntax error' })).run).revert(), /syntax error/);
});

test('macOS /etc/resolver files: one per domain, our nameserver and port, refusing odd names', () => {
  const files = macResolverFiles({ domains: ['cluster.local', 'default', 'Default.'], nameserver: '198.18.0.1', port: 5353 });
  assert.deepEqual(files.map((f) => f.path), ['/etc/resolver/cluster.local', '/etc/resolver/default']);
  assert.equal(files[0]!.contents, [
    '# Written by Telepresence for VS Code; removed on disconnect.',
    'domain cluster.local', 'nameserver 198.18.0.1', 'port 5353', 'timeout 2', 'search_order 1', '',
  ].join('\n'));
  assert.ok(isOurResolverFile(files[1]!.contents));
  assert.ok(!isOurResolverFile('nameserver 10.0.0.53\n'));
  assert.throws(() => macResolverFiles({ domains: ['../hosts'], nameserver: '198.18.0.1' }), /refusing to write/);
});

test('the wiring picks the operation for the integration and the forwarder targets', async () => {
  const base = {
    device: 'tpv0', dnsAddress: '198.18.0.1', clusterDomain: 'cluster.local', namespace: 'default',
    namespaces: ['default', 'dev'], originalNameservers: ['10.0.0.53'], bypassMark: 0x54500000,
  };
  const resolved = fakeRunner();
  await clusterDnsOperation({ ...base, integration: 'systemd-resolved' }, resolved.run).apply();
  assert.deepEqual(resolved.calls, [
    'resolvectl dns tpv0 198.18.0.1',
    'resolvectl domain tpv0 default.svc.cluster.local ~cluster.local ~default ~dev',
    'resolvectl default-route tpv0 false',
  ]);
  const nft = clusterDnsOperation({ ...base, integration: 'nft-redirect' }, fakeRunner().run);
  assert.deepEqual(nft.record, { kind: 'nftTable', family: 'inet', table: 'telepresence_vscode' });
  assert.throws(() => clusterDnsOperation({ ...base, integration: 'macos-resolver' }, fakeRunner().run), /not implemented yet/);

  const files: Record<string, string> = {
    '/etc/resolv.conf': 'nameserver 127.0.0.53\nsearch corp.example\n',
    '/run/systemd/resolve/resolv.conf': 'nameserver 10.0.0.53\nnameserver 10.0.0.54\nsearch corp.example\n',
  };
  const read = (p: string) => { const v = files[p]; if (v === undefined) throw new Error('ENOENT'); return v; };
  assert.deepEqual(originalResolverConfig('systemd-resolved', read).nameservers, ['10.0.0.53', '10.0.0.54']);
  assert.deepEqual(originalResolverConfig('nft-redirect', read).nameservers, ['127.0.0.53']);
  assert.deepEqual(originalResolverConfig('systemd-resolved', read).searchDomains, ['corp.example']);
});
