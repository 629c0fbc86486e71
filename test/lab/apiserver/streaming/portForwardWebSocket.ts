// Port-forward over WebSocket (`v4.channel.k8s.io`, as client-go's
// WebSocket port-forwarder and the daemon's tunnel speak it): per requested
// port i, channel 2i carries data and 2i+1 errors; the first message on each
// channel carries the port as 2 bytes little-endian; every message starts
// with its channel byte. Back-pressure flows both ways.
import type { Duplex } from 'node:stream';
import type WebSocket from 'ws';
import type { PodRuntime } from '../../contracts';

const HIGH_WATER = 1024 * 1024;

export function servePortForwardWebSocket(ws: WebSocket, runtime: PodRuntime, namespace: string, pod: string, ports: number[]): void {
  const conns: Array<Duplex | undefined> = [];
  // Clients write as soon as the WebSocket opens (the daemon's HELLO); the pod connection may
  // not exist yet. Hold those bytes instead of dropping them, as a kubelet's stream buffers do.
  const early: Buffer[][] = ports.map(() => []);
  let open = ports.length;
  const closeAll = () => { for (const c of conns) c?.destroy(); };
  ws.on('close', closeAll);
  ws.on('error', closeAll);
  const done = () => { if (--open <= 0 && ws.readyState === ws.OPEN) ws.close(1000); };

  ports.forEach((port, i) => {
    const dataCh = 2 * i;
    const errCh = dataCh + 1;
    const prefix = (ch: number) => { const b = Buffer.alloc(3); b[0] = ch; b.writeUInt16LE(port, 1); return b; };
    ws.send(prefix(dataCh));
    ws.send(prefix(errCh));
    runtime.portForward(namespace, pod, port).then((conn) => {
      if (ws.readyState !== ws.OPEN) { conn.destroy(); return; }
      conns[i] = conn;
      for (const chunk of early[i]!) conn.write(chunk);
      early[i] = [];
      conn.on('data', (chunk: Buffer) => {
        const msg = Buffer.allocUnsafe(chunk.length + 1);
        msg[0] = dataCh;
        chunk.copy(msg, 1);
        ws.send(msg);
        if (ws.bufferedAmount > HIGH_WATER) {
          conn.pause();
          const resume = () => (ws.bufferedAmount > HIGH_WATER / 2 && ws.readyState === ws.OPEN ? setTimeout(resume, 5) : conn.resume());
          setTimeout(resume, 5);
        }
      });
      conn.on('end', () => done());
      conn.on('error', (err) => {
        if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([errCh]), Buffer.from(`error forwarding port ${port} to pod ${pod}: ${err.message}`)]));
        done();
      });
    }, (err: Error) => {
      if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([errCh]), Buffer.from(`error forwarding port ${port} to pod ${namespace}/${pod}: ${err.message}`)]));
      done();
    });
  });

  ws.on('message', (data: Buffer) => {
    if (data.length === 0) return;
    const ch = data[0]!;
    if (ch % 2 !== 0) return; // clients do not write errors
    const conn = conns[ch / 2];
    if (!conn) { early[ch / 2]?.push(Buffer.from(data.subarray(1))); return; }
    if (!conn.write(data.subarray(1))) {
      ws.pause();
      conn.once('drain', () => ws.resume());
    }
  });
}
