// The relay's forwarder against a real loopback UDP server that loses datagrams on purpose.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import { createDnsForwarder } from '../../../daemon/relay/dnsForwarder';

/** A DNS server on 127.0.0.1 that drops the first `drop` datagrams it gets, then answers each after `delayMs`. */
async function lossyServer(t: { after(fn: () => void): void }, drop: number, delayMs = 0) {
  const sock = dgram.createSocket('udp4');
  const seen = { datagrams: 0 };
  sock.on('message', (m, r) => {
    seen.datagrams++;
    if (seen.datagrams <= drop) return;
    const q = dnsPacket.decode(m);
    const reply = dnsPacket.encode({ type: 'response', id: q.id, flags: dnsPacket.RECURSION_DESIRED, questions: q.questions, answers: [{ type: 'A', name: q.questions![0]!.name, ttl: 5, data: '10.96.0.10' }] });
    setTimeout(() => { try { sock.send(reply, r.port, r.address); } catch { /* closed */ } }, delayMs);
  });
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  t.after(() => sock.close());
  return { port: sock.address().port, seen };
}

const query = () => dnsPacket.encode({ type: 'query', id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: 'echo.default.svc.cluster.local' }] });

test('a lost datagram is sent again within the attempt, and answered well inside the daemon\'s 2 s deadline', async (t) => {
  const server = await lossyServer(t, 1);
  const forward = createDnsForwarder({ servers: [{ host: '127.0.0.1', port: server.port }] });
  const started = Date.now();
  const reply = dnsPacket.decode(await forward(query()));
  const ms = Date.now() - started;
  assert.equal(reply.id, 4242);
  assert.deepEqual(reply.answers?.map((a) => (a as { data?: unknown }).data), ['10.96.0.10']);
  assert.equal(server.seen.datagrams, 2, 'the query was sent twice: once lost, once answered');
  assert.ok(ms >= 350 && ms < 1000, `answered after ${ms} ms (resent after 400 ms)`);
});

test('a slow answer to the first copy counts, and the copies stop once it arrives', async (t) => {
  const server = await lossyServer(t, 0, 600);
  const forward = createDnsForwarder({ servers: [{ host: '127.0.0.1', port: server.port }] });
  const started = Date.now();
  const reply = dnsPacket.decode(await forward(query()));
  assert.equal(reply.id, 4242);
  assert.ok(Date.now() - started < 900, 'the first copy\'s answer was taken');
  const sent = server.seen.datagrams;
  await new Promise((r) => setTimeout(r, 900));
  assert.equal(server.seen.datagrams, sent, 'nothing more was sent after the answer');
  assert.equal(sent, 2, 'one copy went out while the first answer was on its way');
});

test('a server that never answers fails with ETIMEDOUT after the rounds, naming the server', async (t) => {
  const server = await lossyServer(t, Number.MAX_SAFE_INTEGER);
  const forward = createDnsForwarder({ servers: [{ host: '127.0.0.1', port: server.port }], attemptTimeoutMs: 300, resendEveryMs: 100, rounds: 2 });
  await assert.rejects(forward(query()), (e: NodeJS.ErrnoException) => {
    assert.equal(e.code, 'ETIMEDOUT');
    assert.match(e.message, new RegExp(`no answer from the cluster DNS \\(127\\.0\\.0\\.1:${server.port}\\)`));
    return true;
  });
  assert.ok(server.seen.datagrams >= 4 && server.seen.datagrams <= 8, `${server.seen.datagrams} copies in two 300 ms attempts resending every 100 ms`);
});
