// Client side of the TUN integration tests and the benchmark, run inside the
// namespace (`ip netns exec`). One JSON argument says what to do; one JSON
// line on stdout says what happened.
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';

export type ClientTask =
  | { task: 'echo-hash'; host: string; port: number; bytes: number }
  | { task: 'concurrent'; host: string; port: number; count: number }
  | { task: 'udp'; host: string; port: number; message: string }
  | { task: 'connect-error'; host: string; port: number }
  | { task: 'sink-server' }
  | { task: 'throughput'; host: string; port: number; bytes: number }
  | { task: 'same-source-port'; host: string; port: number; count: number };

const task = JSON.parse(process.argv[2]!) as ClientTask;
const done = (r: object) => { process.stdout.write(`${JSON.stringify(r)}\n`); };

function connect(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port, noDelay: true });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

async function echoHash(host: string, port: number, bytes: number) {
  const s = await connect(host, port);
  const sent = createHash('sha256');
  const received = createHash('sha256');
  let got = 0;
  const t0 = performance.now();
  const finished = new Promise<void>((resolve, reject) => {
    s.on('data', (d: Buffer) => { received.update(d); got += d.length; if (got >= bytes) { s.end(); resolve(); } });
    s.on('error', reject);
  });
  for (let off = 0; off < bytes;) {
    const chunk = randomBytes(Math.min(256 * 1024, bytes - off));
    sent.update(chunk);
    off += chunk.length;
    if (!s.write(chunk)) await new Promise((r) => s.once('drain', r));
  }
  await finished;
  return { sentHash: sent.digest('hex'), receivedHash: received.digest('hex'), bytes: got, ms: performance.now() - t0 };
}

/**
 * Connections one after another from one source port: each is aborted (RST,
 * so no TIME_WAIT keeps the port) after its echo, and the next reuses the port
 * at once, as a client whose kernel recycles ports quickly does.
 */
async function sameSourcePort(host: string, port: number, count: number) {
  let localPort = 0;
  const failures: string[] = [];
  let ok = 0;
  for (let i = 0; i < count; i++) {
    let s: net.Socket | undefined;
    try {
      s = await new Promise<net.Socket>((resolve, reject) => {
        const c = net.connect({ host, port, noDelay: true, ...(localPort ? { localPort } : {}) });
        c.once('connect', () => resolve(c));
        c.once('error', reject);
      });
      localPort = s.localPort!;
      const conn = s;
      const msg = `reuse-${i}`;
      const echoed = await new Promise<string>((resolve, reject) => {
        let text = '';
        conn.on('data', (d) => { text += d.toString(); if (text.length >= msg.length) resolve(text); });
        conn.on('end', () => reject(new Error(`connection ${i} ended after ${JSON.stringify(text)}`)));
        conn.on('error', reject);
        conn.write(msg);
      });
      if (echoed === msg) ok++; else failures.push(`connection ${i} echoed ${JSON.stringify(echoed)}`);
    } catch (e) {
      failures.push((e as Error).message);
    }
    if (s && !s.destroyed) {
      const closed = new Promise((r) => s!.once('close', r));
      s.resetAndDestroy();
      await closed;
    }
  }
  return { ok, localPort, failures };
}

async function concurrent(host: string, port: number, count: number) {
  const results = await Promise.allSettled(Array.from({ length: count }, async (_, i) => {
    const s = await connect(host, port);
    const msg = `flow-${i}-${randomBytes(8).toString('hex')}`;
    const echoed = await new Promise<string>((resolve, reject) => {
      let text = '';
      s.on('data', (d) => { text += d.toString(); if (text.length >= msg.length) resolve(text); });
      s.on('error', reject);
      s.write(msg);
    });
    s.destroy();
    return { msg, echoed, localPort: s.localPort };
  }));
  const ok = results.filter((r) => r.status === 'fulfilled' && r.value.msg === r.value.echoed).length;
  const errors = [...new Set(results.flatMap((r) => r.status === 'rejected' ? [String((r.reason as Error).message)] : []))];
  return { ok, failed: count - ok, errors };
}

async function udp(host: string, port: number, message: string) {
  const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const reply = new Promise<{ reply: string; from: string; fromPort: number }>((resolve, reject) => {
    s.on('message', (m, rinfo) => resolve({ reply: m.toString(), from: rinfo.address, fromPort: rinfo.port }));
    s.on('error', reject);
    setTimeout(() => reject(new Error('no UDP reply within 3 s')), 3000);
  });
  s.send(message, port, host);
  try { return await reply; } finally { s.close(); }
}

async function connectError(host: string, port: number) {
  const t0 = performance.now();
  try {
    const s = await connect(host, port);
    s.destroy();
    return { code: 'connected', ms: performance.now() - t0 };
  } catch (e) {
    return { code: (e as NodeJS.ErrnoException).code, ms: performance.now() - t0 };
  }
}

/** Counts what each connection sends, answers the count when the sender half-closes. */
function sinkServer() {
  const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (s) => {
    let n = 0;
    s.on('data', (d: Buffer) => { n += d.length; });
    s.on('end', () => s.end(`${n}\n`));
    s.on('error', () => s.destroy());
  });
  server.listen(0, '127.0.0.1', () => done({ port: (server.address() as net.AddressInfo).port }));
}

async function throughput(host: string, port: number, bytes: number) {
  const s = await connect(host, port);
  const chunk = randomBytes(1 << 20);
  const t0 = performance.now();
  const answer = new Promise<string>((resolve, reject) => {
    let text = '';
    s.on('data', (d) => { text += d.toString(); });
    s.on('end', () => resolve(text.trim()));
    s.on('error', reject);
  });
  for (let off = 0; off < bytes; off += chunk.length) {
    if (!s.write(off + chunk.length <= bytes ? chunk : chunk.subarray(0, bytes - off))) await new Promise((r) => s.once('drain', r));
  }
  s.end();
  const counted = Number(await answer);
  const ms = performance.now() - t0;
  return { bytes: counted, ms, gbitPerSecond: (counted * 8) / (ms / 1000) / 1e9 };
}

const run = async () => {
  switch (task.task) {
    case 'echo-hash': return echoHash(task.host, task.port, task.bytes);
    case 'concurrent': return concurrent(task.host, task.port, task.count);
    case 'same-source-port': return sameSourcePort(task.host, task.port, task.count);
    case 'udp': return udp(task.host, task.port, task.message);
    case 'connect-error': return connectError(task.host, task.port);
    case 'sink-server': sinkServer(); return undefined;
    case 'throughput': return throughput(task.host, task.port, task.bytes);
  }
};
run().then((r) => { if (r) { done(r); process.exit(0); } }, (e: Error) => { done({ error: e.message }); process.exit(1); });
