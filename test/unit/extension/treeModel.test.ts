import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTree, nodeIdForMapping, parentIndex, subnetDescription, type TreeNode } from '../../../extension/tree/treeModel';
import { sortWorkloads, toWorkloads } from '../../../extension/tree/workloads';
import { LAB_PLAN, statusWith } from './fixtures';

const cluster = {
  loaded: true,
  namespaces: ['default', 'kube-system', 'team'],
  workloads: sortWorkloads([
    ...toWorkloads('Deployment', [{ metadata: { name: 'echo', namespace: 'default' }, spec: { replicas: 2 }, status: { readyReplicas: 2 } }]),
    ...toWorkloads('StatefulSet', [{ metadata: { name: 'db', namespace: 'team' }, spec: { replicas: 1 } }]),
  ]),
};

function find(nodes: readonly TreeNode[], pred: (n: TreeNode) => boolean): TreeNode | undefined {
  for (const n of nodes) { if (pred(n)) return n; const c = find(n.children, pred); if (c) return c; }
  return undefined;
}

test('disconnected (or no daemon) gives an empty tree so the welcome content shows', () => {
  assert.deepEqual(buildTree(undefined, cluster), []);
  assert.deepEqual(buildTree(statusWith('disconnected'), cluster), []);
  assert.deepEqual(buildTree(statusWith('disconnecting'), cluster), []);
});

test('connected: connection → Subnets + namespaces → workloads', () => {
  const status = statusWith('connected', { context: 'lab', namespace: 'default', plan: { virtualSubnet: '246.246.0.0/16', subnets: LAB_PLAN } }, {
    intercepts: [{ workload: 'echo', namespace: 'default', kind: 'Deployment', remotePort: 8080, localPort: 3000, mode: 'intercept', since: 't' }],
  });
  const [root] = buildTree(status, cluster);
  assert.equal(root!.label, 'lab');
  assert.equal(root!.contextValue, 'connection-connected');
  assert.deepEqual(root!.children.map((c) => c.label), ['Subnets', 'default', 'kube-system', 'team']);
  const subnets = root!.children[0]!;
  assert.equal(subnets.description, 'virtual subnet 246.246.0.0/16');
  assert.deepEqual(subnets.children.map((c) => [c.label, c.description, c.contextValue]), [
    ['10.130.0.0/16', 'VNAT → 246.246.0.0/17', 'subnet-vnat'],
    ['10.132.0.0/16', 'VNAT → 246.246.128.0/17', 'subnet-vnat'],
    ['172.20.0.0/16', 'routed', 'subnet-route'],
    ['10.40.0.0/16', 'proxy via echo → 246.246.64.0/18', 'subnet-proxy-via'],
    ['10.50.0.0/16', 'conflict', 'subnet-error'],
  ]);
  assert.match(subnets.children[0]!.tooltip!, /service subnet.*\n.*overlaps with existing route "10\.0\.0\.0\/8 via 192\.168\.231\.1 dev vpn0"/);
  assert.match(subnets.children[4]!.tooltip!, /subnet 10\.50\.0\.0\/16 overlaps with existing route/);

  const ns = root!.children[1]!;
  assert.equal(ns.description, 'connected namespace');
  assert.equal(ns.collapsible, 'expanded');
  const echo = ns.children[0]!;
  assert.equal(echo.contextValue, 'workload-intercepted');
  assert.equal(echo.description, 'Deployment 2/2 · intercepted :8080→localhost:3000');
  assert.equal(root!.children[2]!.children[0]!.kind, 'message', 'a namespace without workloads says so');
  assert.equal(root!.children[3]!.children[0]!.contextValue, 'workload');
  assert.equal(root!.children[3]!.collapsible, 'collapsed');
});

test('loading and watch errors appear as message nodes', () => {
  const status = statusWith('connected', { context: 'lab', namespace: 'default' });
  const [loading] = buildTree(status, { namespaces: [], workloads: [], loaded: false });
  assert.equal(loading!.children[0]!.label, 'Loading namespaces…');
  const [failing] = buildTree(status, { namespaces: [], workloads: [], loaded: true, error: 'Could not watch namespaces: 403' });
  assert.equal(failing!.children[0]!.label, 'Could not watch namespaces: 403');
});

test('ids are stable, parents are indexed, mappings find their node', () => {
  const status = statusWith('connected', { context: 'lab', namespace: 'default', plan: { virtualSubnet: '246.246.0.0/16', subnets: LAB_PLAN } });
  const a = buildTree(status, cluster);
  const b = buildTree(status, cluster);
  assert.deepEqual(a.map((n) => n.id), b.map((n) => n.id));
  const parents = parentIndex(a);
  const echo = find(a, (n) => n.label === 'echo')!;
  assert.equal(parents.get(echo.id)!.id, 'ns:default');
  assert.equal(parents.get('connection'), undefined);
  assert.equal(nodeIdForMapping({ service: { namespace: 'default', name: 'echo' } }, a), echo.id, 'a service maps to the workload of its name');
  assert.equal(nodeIdForMapping({ workload: { namespace: 'team', name: 'db', kind: 'StatefulSet' } }, a), 'wl:team/StatefulSet/db');
  assert.equal(nodeIdForMapping({ service: { namespace: 'kube-system', name: 'kube-dns' } }, a), 'ns:kube-system');
  assert.equal(nodeIdForMapping({}, a), undefined);
});

test('workloads: ReplicaSets owned by a Deployment are not listed; incomplete objects are skipped', () => {
  const rs = toWorkloads('ReplicaSet', [
    { metadata: { name: 'echo-7d9', namespace: 'default', ownerReferences: [{ kind: 'Deployment', name: 'echo', controller: true }] } },
    { metadata: { name: 'bare', namespace: 'default' }, spec: { replicas: 3 }, status: { readyReplicas: 1 } },
    { metadata: { name: 'nameless-namespace' } },
  ]);
  assert.deepEqual(rs, [{ kind: 'ReplicaSet', namespace: 'default', name: 'bare', ready: '1/3' }]);
  assert.equal(subnetDescription({ subnet: 'x', origin: 'pods', resolution: 'never-proxy' }), 'never proxied');
  assert.equal(subnetDescription({ subnet: 'x', origin: 'pods', resolution: 'allowed' }), 'allowed (conflict)');
});

test('a leaving intercept: "leaving…" with a spinner, no actions (no Leave, no Intercept), its info kept', () => {
  const status = statusWith('connected', { context: 'lab', namespace: 'default' }, {
    intercepts: [{ workload: 'echo', namespace: 'default', kind: 'Deployment', remotePort: 8080, localPort: 3000, mode: 'intercept', since: 't', state: 'leaving' }],
  });
  const echo = find(buildTree(status, cluster), (n) => n.label === 'echo')!;
  assert.equal(echo.description, 'Deployment 2/2 · leaving…');
  assert.equal(echo.icon, 'sync~spin');
  assert.equal(echo.iconColor, undefined);
  // package.json offers Leave on workload-intercepted and Intercept… on workload only.
  assert.equal(echo.contextValue, 'workload-leaving');
  assert.match(echo.tooltip!, /leaving the intercept: the workload is being put back; requests to it may be refused until this ends/);
  assert.equal(echo.intercept?.state, 'leaving');
  assert.equal(echo.id, 'wl:default/Deployment/echo', 'the same node as while intercepted, so the tree keeps its place');
});

test('an intercept from a daemon without the state field is shown as intercepted', () => {
  const status = statusWith('connected', { context: 'lab', namespace: 'default' }, {
    intercepts: [{ workload: 'echo', namespace: 'default', kind: 'Deployment', remotePort: 8080, localPort: 3000, mode: 'intercept', since: 't' }],
  });
  const echo = find(buildTree(status, cluster), (n) => n.label === 'echo')!;
  assert.equal(echo.contextValue, 'workload-intercepted');
  assert.equal(echo.icon, 'debug-alt');
  const active = statusWith('connected', { context: 'lab', namespace: 'default' }, { intercepts: [{ ...status.intercepts[0]!, state: 'active' }] });
  const { intercept: _a, ...withState } = find(buildTree(active, cluster), (n) => n.label === 'echo')!;
  const { intercept: _b, ...withoutState } = echo;
  assert.deepEqual(withState, withoutState, 'shown the same as state active');
});
