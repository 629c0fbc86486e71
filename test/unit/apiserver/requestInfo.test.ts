import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { parseRequestInfo } from '../../lab/apiserver/requestInfo';

const parse = (method: string, url: string) => {
  const u = new URL(url, 'https://apiserver');
  return parseRequestInfo(method, u.pathname, u.searchParams);
};

test('core group: cluster-scoped and namespaced collections and objects', () => {
  assert.deepEqual(parse('GET', '/api/v1/nodes'), { kind: 'resource', group: '', version: 'v1', resource: 'nodes', verb: 'list' });
  assert.deepEqual(parse('GET', '/api/v1/nodes/node-1'), { kind: 'resource', group: '', version: 'v1', resource: 'nodes', name: 'node-1', verb: 'get' });
  assert.deepEqual(parse('GET', '/api/v1/pods'), { kind: 'resource', group: '', version: 'v1', resource: 'pods', verb: 'list' });
  assert.deepEqual(parse('GET', '/api/v1/namespaces/default/pods'), { kind: 'resource', group: '', version: 'v1', namespace: 'default', resource: 'pods', verb: 'list' });
  assert.deepEqual(parse('GET', '/api/v1/namespaces/default/pods/p1'), { kind: 'resource', group: '', version: 'v1', namespace: 'default', resource: 'pods', name: 'p1', verb: 'get' });
});

test('named groups', () => {
  assert.deepEqual(parse('POST', '/apis/apps/v1/namespaces/team-a/deployments'), { kind: 'resource', group: 'apps', version: 'v1', namespace: 'team-a', resource: 'deployments', verb: 'create' });
  assert.deepEqual(parse('GET', '/apis/discovery.k8s.io/v1/endpointslices'), { kind: 'resource', group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', verb: 'list' });
  assert.deepEqual(parse('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews'), { kind: 'resource', group: 'authorization.k8s.io', version: 'v1', resource: 'selfsubjectaccessreviews', verb: 'create' });
});

test('namespaces themselves, their status and finalize subresources', () => {
  assert.deepEqual(parse('GET', '/api/v1/namespaces'), { kind: 'resource', group: '', version: 'v1', resource: 'namespaces', verb: 'list' });
  assert.deepEqual(parse('DELETE', '/api/v1/namespaces/team-a'), { kind: 'resource', group: '', version: 'v1', resource: 'namespaces', name: 'team-a', verb: 'delete' });
  assert.deepEqual(parse('PUT', '/api/v1/namespaces/team-a/status'), { kind: 'resource', group: '', version: 'v1', resource: 'namespaces', name: 'team-a', subresource: 'status', verb: 'update' });
  assert.deepEqual(parse('PUT', '/api/v1/namespaces/team-a/finalize'), { kind: 'resource', group: '', version: 'v1', resource: 'namespaces', name: 'team-a', subresource: 'finalize', verb: 'update' });
});

test('subresources: status, scale, and the streaming ones authorized as create even over GET', () => {
  assert.deepEqual(parse('PATCH', '/api/v1/namespaces/default/pods/p1/status'), { kind: 'resource', group: '', version: 'v1', namespace: 'default', resource: 'pods', name: 'p1', subresource: 'status', verb: 'patch' });
  assert.deepEqual(parse('GET', '/apis/apps/v1/namespaces/default/deployments/web/scale'), { kind: 'resource', group: 'apps', version: 'v1', namespace: 'default', resource: 'deployments', name: 'web', subresource: 'scale', verb: 'get' });
  for (const sub of ['exec', 'portforward', 'attach']) {
    const info = parse('GET', `/api/v1/namespaces/default/pods/p1/${sub}?command=env`);
    assert.equal(info.kind, 'resource');
    assert.equal(info.verb, 'create', sub);
    assert.equal(info.kind === 'resource' && info.subresource, sub);
  }
  assert.equal(parse('POST', '/api/v1/namespaces/default/pods/p1/portforward').verb, 'create');
});

test('verbs: watch by query or by /watch/ path, deletecollection, update and patch', () => {
  assert.equal(parse('GET', '/api/v1/namespaces/default/pods?watch=true').verb, 'watch');
  assert.equal(parse('GET', '/api/v1/namespaces/default/pods?watch=1').verb, 'watch');
  assert.equal(parse('GET', '/api/v1/namespaces/default/pods?watch=false').verb, 'list');
  assert.deepEqual(parse('GET', '/api/v1/watch/namespaces/default/pods/p1'), { kind: 'resource', group: '', version: 'v1', namespace: 'default', resource: 'pods', name: 'p1', verb: 'watch' });
  assert.equal(parse('DELETE', '/api/v1/namespaces/default/pods').verb, 'deletecollection');
  assert.equal(parse('DELETE', '/api/v1/namespaces/default/pods/p1').verb, 'delete');
  assert.equal(parse('PUT', '/api/v1/namespaces/default/configmaps/c').verb, 'update');
  assert.equal(parse('PATCH', '/api/v1/namespaces/default/configmaps/c').verb, 'patch');
  assert.equal(parse('HEAD', '/api/v1/namespaces/default/configmaps/c').verb, 'get');
});

test('discovery, version and health paths are non-resource requests', () => {
  for (const p of ['/api', '/api/v1', '/apis', '/apis/apps', '/apis/apps/v1', '/version', '/healthz', '/openapi/v3']) {
    const info = parse('GET', p);
    assert.equal(info.kind, 'nonresource', p);
    assert.equal(info.kind === 'nonresource' && info.path, p);
    assert.equal(info.verb, 'get');
  }
});

test('percent-encoded names are decoded', () => {
  const info = parse('GET', '/api/v1/namespaces/default/configmaps/a%2Eb');
  assert.equal(info.kind === 'resource' && info.name, 'a.b');
});
