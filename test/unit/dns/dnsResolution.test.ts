import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dnsPacket from 'dns-packet';
import type { Answer, RecordType } from 'dns-packet';
import type { DnsMapping } from '../../../daemon/dns/answerRewrite';
import type { ClusterLookup, ClusterResolver } from '../../../daemon/dns/clusterResolver';
import { clusterResolverOverWire } from '../../../daemon/dns/clusterResolver';
import { DnsResolution, type DnsResolutionOptions, type UpstreamForward } from '../../../daemon/dns/dnsResolution';

const records: Record<string, Answer[]> = {
  'echo.default.svc.cluster.local/A': [{ type: 'A', name: 'echo.default.svc.cluster.local', ttl: 30, data: '10.130.0.20' }],
  'echo.default.svc.cluster.local/AAAA': [],
  'web.dev.svc.cluster.local/A': [{ type: 'A', name: 'web.dev.svc.cluster.local', ttl: 30, data: '10.130.0.30' }],
  'direct.default.svc.cluster.local/A': [{ type: 'A', name: 'direct.default.svc.cluster.local', ttl: 30, data: '172.31.0.7' }],
  '5.0.132.10.in-addr.arpa/PTR': [{ type: 'PTR', name: '5.0.132.10.in-addr.arpa', ttl: 30, data: '10-132-0-5.default.pod.cluster.local' }],
  '20.0.130.10.in-addr.arpa/PTR': [{ type: 'PTR', name: '20.0.130.10.in-addr.arpa', ttl: 30, data: 'echo.default.svc.cluster.local' }],
};
const vnat = new Map([['10.130.0.20', '246.246.0.1'], ['10.130.0.30', '246.246.0.2']]);

function fakeCluster(log: string[] = []): ClusterResolver {
  return async (name: string, type: RecordType): Promise<ClusterLookup> => {
    log.push(`${name}/${type}`);
    const r = records[`${name}/${type}`];
    if (r) return { rcode: 'NOERROR', answers: r };
    if (Object.keys(records).some((k) => k.startsWith(`${name}/`))) return { rcode: 'NOERROR', answers: [] };
    return { rcode: 'NXDOMAIN' };
  };
}

/** An upstream that answers every name with 192.0.2.1 and keeps what it saw. */
function fakeUpstream(seen: Buffer[] = []): UpstreamForward {
  return async (query) => {
    seen.push(query);
    const q = dnsPacket.decode(query);
    const name = q.questions![0]!.name;
    if (name.startsWith('missing')) return dnsPacket.encode({ type: 'response', id: q.id, flags: 0x0180 | 3, questions: q.questions });
    return dnsPacket.encode({ type: 'response', id: q.id, flags: 0x0180, questions: q.questions, answers: [{ type: 'A', name, ttl: 3600, data: '192.0.2.1' }] });
  };
}

function resolution(over: Partial<DnsResolutionOptions> = {}): DnsResolution {
  return new DnsResolution({
    namespace: 'default',
    namespaces: ['default', 'dev'],
    searchDomains: ['corp.example'],
    clusterResolver: fakeCluster(),
    forward: fakeUpstream(),
    toVirtual: (ip) => vnat.get(ip),
    toReal: (v) => [...vnat].find(([, vv]) => vv === v)?.[0],
    virtualSubnets: ['246.246.0.0/16'],
    clusterSubnets: ['10.132.0.0/16'],
    ...over,
  });
}

let nextId = 1;
function query(name: string, type: RecordType = 'A', extra: Partial<dnsPacket.Packet> = {}): Buffer {
  return dnsPacket.encode({ type: 'query', id: nextId++ & 0xffff, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }], ...extra });
}

async function ask(r: DnsResolution, name: string, type: RecordType = 'A', transport: 'udp' | 'tcp' = 'udp') {
  const q = query(name, type);
  const raw = await r.answer(q, transport);
  assert.ok(raw, `an answer for ${name}`);
  const reply = dnsPacket.decode(raw);
  assert.equal(reply.id, dnsPacket.decode(q).id);
  assert.equal(reply.type, 'response');
  return reply as dnsPacket.DecodedPacket & { rcode: string };
}

const addresses = (reply: dnsPacket.DecodedPacket) => (reply.answers ?? []).filter((a) => a.type === 'A' || a.type === 'AAAA').map((a) => (a as { data: string }).data);

test('a cluster name is answered with its virtual IP, capped TTL, and the mapping is reported', async () => {
  const mappings: DnsMapping[] = [];
  const r = resolution({ onMapping: (m) => mappings.push(m) });
  const reply = await ask(r, 'echo.default.svc.cluster.local');
  assert.equal(reply.rcode, 'NOERROR');
  assert.deepEqual(addresses(reply), ['246.246.0.1']);
  assert.equal((reply.answers![0] as { ttl: number }).ttl, 5);
  assert.equal(reply.answers![0]!.name, 'echo.default.svc.cluster.local');
  assert.deepEqual(mappings, [{ name: 'echo.default.svc.cluster.local', queriedName: 'echo.default.svc.cluster.local', realIp: '10.130.0.20', virtualIp: '246.246.0.1' }]);
  assert.equal(r.nameForVirtualIp('246.246.0.1'), 'echo.default.svc.cluster.local');
});

test('addresses outside VNAT subnets pass unchanged', async () => {
  const reply = await ask(resolution(), 'direct.default.svc.cluster.local');
  assert.deepEqual(addresses(reply), ['172.31.0.7']);
});

test('single-label and namespace-relative names answer under the name asked', async () => {
  const r = resolution();
  for (const [name, ip] of [['echo', '246.246.0.1'], ['echo.default', '246.246.0.1'], ['Echo.Default.svc', '246.246.0.1'], ['web.dev', '246.246.0.2']] as const) {
    const reply = await ask(r, name);
    assert.equal(reply.rcode, 'NOERROR', name);
    assert.deepEqual(addresses(reply), [ip], name);
    assert.equal(reply.answers![0]!.name, name);
    assert.equal(reply.questions![0]!.name, name);
  }
});

test('a namespace added later is recognised', async () => {
  const log: string[] = [];
  const seen: Buffer[] = [];
  const r = resolution({ namespaces: ['default'], clusterResolver: fakeCluster(log), forward: fakeUpstream(seen) });
  await ask(r, 'web.dev');
  assert.equal(seen.length, 1, 'forwarded while dev is unknown');
  r.setNamespaces(['default', 'dev']);
  const reply = await ask(r, 'web.dev');
  assert.deepEqual(addresses(reply), ['246.246.0.2']);
  assert.ok(log.includes('web.dev.svc.cluster.local/A'));
});

test('unknown cluster-domain names are NXDOMAIN and never forwarded', async () => {
  const seen: Buffer[] = [];
  const reply = await ask(resolution({ forward: fakeUpstream(seen) }), 'nope.default.svc.cluster.local');
  assert.equal(reply.rcode, 'NXDOMAIN');
  assert.equal(seen.length, 0);
});

test('a cluster name with a search domain appended is NXDOMAIN and asked of no one', async () => {
  const seen: Buffer[] = [];
  const log: string[] = [];
  const reply = await ask(resolution({ forward: fakeUpstream(seen), clusterResolver: fakeCluster(log) }), 'echo.default.svc.cluster.local.corp.example', 'AAAA');
  assert.equal(reply.rcode, 'NXDOMAIN');
  assert.deepEqual([seen.length, log.length], [0, 0]);
});

test('a name that exists without the asked type is NODATA', async () => {
  const reply = await ask(resolution(), 'echo', 'AAAA');
  assert.equal(reply.rcode, 'NOERROR');
  assert.equal(reply.answers!.length, 0);
});

test('single-label names the cluster does not know fall back to the original resolver', async () => {
  const seen: Buffer[] = [];
  const r = resolution({ forward: fakeUpstream(seen) });
  const reply = await ask(r, 'intranet');
  assert.deepEqual(addresses(reply), ['192.0.2.1']);
  assert.equal(seen.length, 1);
});

test('non-cluster and search-list names are relayed byte for byte', async () => {
  const upstreamReply = Buffer.from(dnsPacket.encode({
    type: 'response', id: 0, flags: 0x8180, questions: [{ name: 'intranet.corp', type: 'A' }],
    answers: [{ type: 'A', name: 'intranet.corp', ttl: 3600, data: '10.1.2.3' }],
  }));
  const seen: Buffer[] = [];
  const r = resolution({
    forward: async (q) => {
      seen.push(q);
      const out = Buffer.from(upstreamReply);
      out.writeUInt16BE(q.readUInt16BE(0), 0);
      return out;
    },
  });
  const q = query('intranet.corp');
  const raw = await r.answer(q, 'udp');
  assert.deepEqual(seen[0], q, 'the query goes upstream unchanged');
  const expected = Buffer.from(upstreamReply);
  expected.writeUInt16BE(q.readUInt16BE(0), 0);
  assert.deepEqual(raw, expected, 'the reply comes back unchanged (TTL 3600 included)');
  await r.answer(query('echo.corp.example'), 'udp');
  assert.equal(dnsPacket.decode(seen[1]!).questions![0]!.name, 'echo.corp.example');
});

test('PTR of a virtual IP answers the cluster name, also when only the allocator knows it', async () => {
  const r = resolution();
  await ask(r, 'echo');
  const known = await ask(r, '1.0.246.246.in-addr.arpa', 'PTR');
  assert.equal((known.answers![0] as { data: string }).data, 'echo.default.svc.cluster.local');
  const fresh = resolution();
  const viaCluster = await ask(fresh, '1.0.246.246.in-addr.arpa', 'PTR');
  assert.equal(viaCluster.answers![0]!.name, '1.0.246.246.in-addr.arpa');
  assert.equal((viaCluster.answers![0] as { data: string }).data, 'echo.default.svc.cluster.local');
  const unknown = await ask(fresh, '99.0.246.246.in-addr.arpa', 'PTR');
  assert.equal(unknown.rcode, 'NXDOMAIN');
});

test('PTR in a cluster subnet goes to the cluster; other PTR is forwarded', async () => {
  const seen: Buffer[] = [];
  const r = resolution({ forward: fakeUpstream(seen) });
  const pod = await ask(r, '5.0.132.10.in-addr.arpa', 'PTR');
  assert.equal((pod.answers![0] as { data: string }).data, '10-132-0-5.default.pod.cluster.local');
  assert.equal(seen.length, 0);
  await ask(r, '1.2.0.192.in-addr.arpa', 'PTR');
  assert.equal(seen.length, 1);
});

test('a cluster that does not answer in time gives SERVFAIL, and so does a failing upstream', async () => {
  const slow = resolution({ clusterTimeoutMs: 50, clusterResolver: () => new Promise(() => { /* never */ }) });
  const started = Date.now();
  const reply = await ask(slow, 'echo.default.svc.cluster.local');
  assert.equal(reply.rcode, 'SERVFAIL');
  assert.ok(Date.now() - started < 1000);
  const aborted: boolean[] = [];
  const polite = resolution({ clusterTimeoutMs: 30, clusterResolver: (_n, _t, signal) => new Promise((_, reject) => signal.addEventListener('abort', () => { aborted.push(true); reject(new Error('aborted')); })) });
  assert.equal((await ask(polite, 'echo')).rcode, 'SERVFAIL');
  assert.deepEqual(aborted, [true], 'the resolver is told to stop');
  const broken = resolution({ forward: async () => { throw new Error('unreachable'); } });
  assert.equal((await ask(broken, 'example.com')).rcode, 'SERVFAIL');
});

test('many questions in flight are answered independently', async () => {
  const r = resolution({
    clusterResolver: async (name, type, signal) => {
      await new Promise((res) => setTimeout(res, Math.random() * 20));
      return fakeCluster()(name, type, signal);
    },
  });
  const names = Array.from({ length: 500 }, (_, i) => (i % 2 ? 'echo' : 'web.dev'));
  const replies = await Promise.all(names.map((n) => ask(r, n)));
  replies.forEach((reply, i) => assert.deepEqual(addresses(reply), [i % 2 ? '246.246.0.1' : '246.246.0.2']));
});

test('large cluster answers are truncated over UDP but not over TCP', async () => {
  const many: Answer[] = Array.from({ length: 60 }, (_, i) => ({ type: 'A', name: 'big.default.svc.cluster.local', ttl: 5, data: `10.131.0.${i}` }));
  const r = resolution({ clusterResolver: async () => ({ rcode: 'NOERROR', answers: many }) });
  const udp = await ask(r, 'big.default.svc.cluster.local', 'A', 'udp');
  assert.ok(udp.flag_tc);
  assert.equal(udp.answers!.length, 0);
  const tcp = await ask(r, 'big.default.svc.cluster.local', 'A', 'tcp');
  assert.ok(!tcp.flag_tc);
  assert.equal(tcp.answers!.length, 60);
  // EDNS lets the client take more over UDP.
  const edns = await r.answer(query('big.default.svc.cluster.local', 'A', {
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }],
  }), 'udp');
  const ednsReply = dnsPacket.decode(edns!);
  assert.ok(!ednsReply.flag_tc);
  assert.equal(ednsReply.answers!.length, 60);
  assert.ok(ednsReply.additionals!.some((a) => a.type === 'OPT'));
});

test('malformed input: FORMERR, NOTIMP or silence, never an exception', async () => {
  const rcodeOf = (b: Buffer) => (dnsPacket.decode(b) as dnsPacket.DecodedPacket & { rcode: string }).rcode;
  const r = resolution();
  assert.equal(await r.answer(Buffer.alloc(5), 'udp'), undefined, 'too short for an id');
  const response = query('echo');
  response[2] |= 0x80;
  assert.equal(await r.answer(response, 'udp'), undefined, 'responses are never answered');
  const two = dnsPacket.encode({ type: 'query', id: 7, questions: [{ name: 'a', type: 'A' }, { name: 'b', type: 'A' }] });
  assert.equal(rcodeOf((await r.answer(two, 'udp'))!), 'FORMERR');
  const truncated = query('echo.default.svc.cluster.local').subarray(0, 20);
  assert.equal(rcodeOf((await r.answer(truncated, 'udp'))!), 'FORMERR');
  const notify = query('echo');
  notify[2] = (notify[2]! & 0x87) | (4 << 3);
  assert.equal(rcodeOf((await r.answer(notify, 'udp'))!), 'NOTIMP');
});

test('fuzz: thousands of random and mangled packets never throw and get at most one reply each', async () => {
  let seed = 0x2545f491;
  const rnd = () => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return (seed >>> 0) / 0x100000000; };
  const r = resolution({ clusterTimeoutMs: 50, forwardTimeoutMs: 50 });
  const valid = [query('echo'), query('echo.default.svc.cluster.local', 'AAAA'), query('intranet.corp'), query('1.0.246.246.in-addr.arpa', 'PTR')];
  let replies = 0;
  for (let i = 0; i < 4000; i++) {
    let packet: Buffer;
    const mode = i % 4;
    if (mode === 0) {
      packet = Buffer.from(Array.from({ length: Math.floor(rnd() * 80) }, () => Math.floor(rnd() * 256)));
    } else {
      const base = Buffer.from(valid[i % valid.length]!);
      if (mode === 1) packet = base.subarray(0, Math.floor(rnd() * base.length));
      else {
        packet = base;
        for (let k = 0; k < 1 + Math.floor(rnd() * 4); k++) packet[Math.floor(rnd() * packet.length)] = Math.floor(rnd() * 256);
      }
    }
    const reply = await r.answer(packet, rnd() < 0.5 ? 'udp' : 'tcp');
    if (reply) {
      replies++;
      assert.ok(reply.length >= 12);
      assert.equal(reply.readUInt16BE(0), packet.readUInt16BE(0), 'the reply carries the query id');
      assert.ok(reply[2]! & 0x80, 'it is a response');
    }
  }
  assert.ok(replies > 1000, `most packets get a reply (${replies})`);
  assert.ok(r.stats.malformed > 500);
});

test('the wire-format adapter turns raw cluster replies into lookups', async () => {
  const resolver = clusterResolverOverWire(async (raw) => {
    const q = dnsPacket.decode(raw);
    const name = q.questions![0]!.name;
    if (name === 'gone.default.svc.cluster.local') return dnsPacket.encode({ type: 'response', id: q.id, flags: 3, questions: q.questions });
    if (name === 'sick.default.svc.cluster.local') return dnsPacket.encode({ type: 'response', id: q.id, flags: 2, questions: q.questions });
    return dnsPacket.encode({ type: 'response', id: q.id, questions: q.questions, answers: [{ type: 'A', name, ttl: 9, data: '10.130.0.20' }] });
  });
  const signal = new AbortController().signal;
  const ok = await resolver('echo.default.svc.cluster.local', 'A', signal);
  assert.equal(ok.rcode, 'NOERROR');
  assert.deepEqual(ok.rcode === 'NOERROR' && ok.answers.map((a) => (a as { data: string }).data), ['10.130.0.20']);
  assert.deepEqual(await resolver('gone.default.svc.cluster.local', 'A', signal), { rcode: 'NXDOMAIN' });
  await assert.rejects(resolver('sick.default.svc.cluster.local', 'A', signal), /SERVFAIL/);
});
