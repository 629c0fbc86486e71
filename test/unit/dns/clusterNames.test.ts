import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseClusterDomain, routeName, type NameContext } from '../../../daemon/dns/clusterNames';

const ctx = (over: Partial<NameContext> = {}): NameContext => ({
  clusterDomain: 'cluster.local',
  namespace: 'default',
  namespaces: new Set(['default', 'kube-system', 'dev']),
  searchDomains: ['corp.example'],
  ...over,
});

test('names under the cluster domain go to the cluster only, as asked', () => {
  assert.deepEqual(routeName('echo.default.svc.cluster.local', ctx()), { kind: 'cluster', clusterName: 'echo.default.svc.cluster.local' });
  assert.deepEqual(routeName('Echo.Default.SVC.cluster.local.', ctx()), { kind: 'cluster', clusterName: 'echo.default.svc.cluster.local' });
  assert.deepEqual(routeName('10-132-0-5.default.pod.cluster.local', ctx()), { kind: 'cluster', clusterName: '10-132-0-5.default.pod.cluster.local' });
});

test('a configured cluster domain replaces cluster.local', () => {
  const c = ctx({ clusterDomain: 'k8s.internal' });
  assert.deepEqual(routeName('echo.default.svc.k8s.internal', c), { kind: 'cluster', clusterName: 'echo.default.svc.k8s.internal' });
  assert.deepEqual(routeName('echo.default.svc.cluster.local', c), { kind: 'forward' });
  assert.deepEqual(routeName('echo', c), { kind: 'clusterFirst', clusterName: 'echo.default.svc.k8s.internal' });
});

test('single-label names are tried in the connected namespace first', () => {
  assert.deepEqual(routeName('echo', ctx()), { kind: 'clusterFirst', clusterName: 'echo.default.svc.cluster.local' });
  assert.deepEqual(routeName('echo', ctx({ namespace: 'team-a' })), { kind: 'clusterFirst', clusterName: 'echo.team-a.svc.cluster.local' });
  assert.deepEqual(routeName('localhost', ctx()), { kind: 'forward' });
});

test('namespace-relative names need the namespace to exist', () => {
  assert.deepEqual(routeName('echo.default', ctx()), { kind: 'clusterFirst', clusterName: 'echo.default.svc.cluster.local' });
  assert.deepEqual(routeName('echo.default.svc', ctx()), { kind: 'clusterFirst', clusterName: 'echo.default.svc.cluster.local' });
  assert.deepEqual(routeName('_http._tcp.echo.kube-system', ctx()), { kind: 'clusterFirst', clusterName: '_http._tcp.echo.kube-system.svc.cluster.local' });
  assert.deepEqual(routeName('echo.staging', ctx()), { kind: 'forward' });
  assert.deepEqual(routeName('echo.staging', ctx({ namespaces: new Set(['staging']) })), { kind: 'clusterFirst', clusterName: 'echo.staging.svc.cluster.local' });
  // A namespace named like a TLD is tried in the cluster first, never exclusively.
  assert.equal(routeName('web.dev', ctx()).kind, 'clusterFirst');
});

test('names the stub resolver built from the search list go to the original resolver', () => {
  assert.deepEqual(routeName('echo.corp.example', ctx()), { kind: 'forward' });
  assert.deepEqual(routeName('echo.default.corp.example', ctx()), { kind: 'forward' });
  assert.deepEqual(routeName('intranet.corp', ctx()), { kind: 'forward' });
  // glibc appends the search list to a cluster FQDN that had no record of the asked type.
  assert.deepEqual(routeName('echo.default.svc.cluster.local.corp.example', ctx()), { kind: 'nxdomain' });
  assert.deepEqual(routeName('example.com', ctx()), { kind: 'forward' });
  assert.deepEqual(routeName('.', ctx()), { kind: 'forward' });
});

test('cluster domains are validated', () => {
  assert.equal(parseClusterDomain('Cluster.Local.'), 'cluster.local');
  assert.throws(() => parseClusterDomain('not a domain'), /is not a DNS name/);
});
