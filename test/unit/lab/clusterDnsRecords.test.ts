import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dnsPacket from 'dns-packet';
import type { V1Endpoints, V1Pod, V1Service } from '@kubernetes/client-node';
import { answerQuestion, buildDnsIndex } from '../../lab/dns/clusterDnsRecords';
import { replyTo } from '../../lab/dns/labDnsServer';

const services: V1Service[] = [
  { metadata: { namespace: 'default', name: 'echo' }, spec: { clusterIP: '10.130.0.5', ports: [{ name: 'http', port: 80 }, { name: 'udp-echo', port: 9001, protocol: 'UDP' }] } },
  { metadata: { namespace: 'team-a', name: 'store' }, spec: { clusterIP: 'None', ports: [{ name: 'http', port: 8080 }] } },
];
const endpoints: V1Endpoints[] = [
  { metadata: { namespace: 'team-a', name: 'store' }, subsets: [{ addresses: [{ ip: '10.132.0.8' }, { ip: '10.132.0.9', hostname: 'store-1' }], ports: [{ name: 'http', port: 8080 }] }] },
];
const pods: V1Pod[] = [{ metadata: { namespace: 'team-a', name: 'store-0' }, spec: { hostname: 'store-0', subdomain: 'store', containers: [] }, status: { podIP: '10.132.0.8' } }];
const index = buildDnsIndex('cluster.local', services, endpoints, pods);
const a = (name: string, type = 'A') => answerQuestion(index, name, type);
const data = (r: ReturnType<typeof a>) => r.answers.map((x) => (x as { data: unknown }).data);

test('services, headless members, SRV and pod names resolve; everything else is NXDOMAIN', () => {
  assert.deepEqual(data(a('echo.default.svc.cluster.local')), ['10.130.0.5']);
  assert.deepEqual(data(a('ECHO.default.svc.cluster.local.')), ['10.130.0.5'], 'case-insensitive, trailing dot');
  assert.deepEqual(data(a('store.team-a.svc.cluster.local')), ['10.132.0.8', '10.132.0.9']);
  assert.deepEqual(data(a('store-0.store.team-a.svc.cluster.local')), ['10.132.0.8'], 'hostname from the pod spec');
  assert.deepEqual(data(a('store-1.store.team-a.svc.cluster.local')), ['10.132.0.9'], 'hostname from the endpoint');
  assert.deepEqual(data(a('_http._tcp.echo.default.svc.cluster.local', 'SRV')), [{ priority: 0, weight: 100, port: 80, target: 'echo.default.svc.cluster.local' }]);
  assert.deepEqual(data(a('10-132-0-77.default.pod.cluster.local')), ['10.132.0.77']);
  assert.deepEqual(data(a('5.0.130.10.in-addr.arpa', 'PTR')), ['echo.default.svc.cluster.local']);
  assert.equal(a('nope.default.svc.cluster.local').rcode, 'NXDOMAIN');
  assert.equal(a('echo.team-a.svc.cluster.local').rcode, 'NXDOMAIN');
  assert.equal(a('example.com').rcode, 'NXDOMAIN', 'nothing is forwarded');
  const nodata = a('echo.default.svc.cluster.local', 'AAAA');
  assert.equal(nodata.rcode, 'NOERROR');
  assert.equal(nodata.answers.length, 0);
  assert.equal(a('default.svc.cluster.local').rcode, 'NOERROR', 'empty non-terminal exists');
});

test('pod names answer any address in any namespace, with or without a pod, as CoreDNS `pods insecure` does', () => {
  assert.deepEqual(data(a('10-132-0-8.team-a.pod.cluster.local')), ['10.132.0.8'], 'the address of a pod');
  assert.deepEqual(data(a('10-132-255-255.no-such-namespace.pod.cluster.local')), ['10.132.255.255'], 'no pod, no namespace');
  assert.deepEqual(data(a('10-132-0-0.default.pod.cluster.local')), ['10.132.0.0'], 'the network address too');
  assert.deepEqual(data(a('192-0-2-1.default.pod.cluster.local')), ['192.0.2.1'], 'outside the pod subnet too');
  assert.equal(a('10-132-0-256.default.pod.cluster.local').rcode, 'NXDOMAIN', 'not an address');
  assert.equal(a('10-132-0-8.default.pod.example.org').rcode, 'NXDOMAIN', 'another domain');
  const aaaa = a('10-132-0-8.default.pod.cluster.local', 'AAAA');
  assert.equal(aaaa.rcode, 'NOERROR');
  assert.equal(aaaa.answers.length, 0, 'NODATA for other types');
});

test('wire format: the reply echoes id and question, is authoritative and carries the rcode', () => {
  const query = dnsPacket.encode({ type: 'query', id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: 'echo.default.svc.cluster.local', class: 'IN' }] });
  const reply = dnsPacket.decode(replyTo(query, (n, t) => answerQuestion(index, n, t))!);
  assert.equal(reply.id, 4242);
  assert.equal(reply.flags! & 0x0f, 0, 'NOERROR');
  assert.ok((reply.flags! & dnsPacket.AUTHORITATIVE_ANSWER) !== 0);
  assert.deepEqual(reply.answers!.map((x) => (x as { data: string }).data), ['10.130.0.5']);
  const nx = dnsPacket.decode(replyTo(dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'A', name: 'x.y', class: 'IN' }] }), (n, t) => answerQuestion(index, n, t))!);
  assert.equal(nx.flags! & 0x0f, 3, 'NXDOMAIN');
  assert.equal(replyTo(Buffer.from('garbage'), () => { throw new Error('not called'); }), undefined);
});
