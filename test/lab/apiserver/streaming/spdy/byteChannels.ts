// The two carriers of a SPDY connection kubectl uses for port-forward: the
// raw socket after an `Upgrade: SPDY/3.1` (kubectl before 1.31, or its
// fallback), and a WebSocket whose binary messages carry the SPDY byte stream
// (`SPDY/3.1+portforward.k8s.io`, kubectl 1.31 and later).
import type { Duplex } from 'node:stream';
import type WebSocket from 'ws';
import type { ByteChannel } from './spdySession';

const WS_HIGH_WATER = 1024 * 1024;

export function socketChannel(socket: Duplex, head: Buffer | undefined): ByteChannel {
  return {
    write: (chunk) => socket.write(chunk),
    onData(listener) {
      if (head?.length) queueMicrotask(() => listener(head));
      socket.on('data', listener);
    },
    onDrain: (listener) => { socket.on('drain', listener); },
    onClose(listener) {
      socket.on('close', listener);
      socket.on('error', () => socket.destroy());
    },
    pause: () => { socket.pause(); },
    resume: () => { socket.resume(); },
    close: () => { socket.end(); setTimeout(() => socket.destroy(), 1000).unref(); },
  };
}

export function webSocketChannel(ws: WebSocket): ByteChannel {
  const drainListeners: Array<() => void> = [];
  let congested = false;
  const afterSend = () => {
    if (congested && ws.bufferedAmount < WS_HIGH_WATER / 2) {
      congested = false;
      for (const l of drainListeners) l();
    }
  };
  return {
    write(chunk) {
      if (ws.readyState !== ws.OPEN) return true;
      ws.send(chunk, { binary: true }, afterSend);
      if (ws.bufferedAmount > WS_HIGH_WATER) congested = true;
      return !congested;
    },
    onData(listener) {
      ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
        if (!isBinary) { ws.close(1003, 'the SPDY tunnel carries binary messages only'); return; }
        listener(Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data));
      });
    },
    onDrain: (listener) => { drainListeners.push(listener); },
    onClose(listener) {
      ws.on('close', listener);
      ws.on('error', () => ws.terminate());
    },
    pause: () => { ws.pause(); },
    resume: () => { ws.resume(); },
    close: () => { if (ws.readyState === ws.OPEN) ws.close(1000); },
  };
}
