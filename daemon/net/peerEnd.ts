// Telling a peer's FIN from its reset on a Node TCP socket.
//
// Node 20 (libuv 1.46) reports a reset that arrives while received bytes still
// wait to be read as a clean end: epoll says POLLHUP, the read comes back
// short, and libuv takes that as end of stream without the next read, which
// would have returned ECONNRESET (libuv issue 4992, fixed upstream in 2026).
// On loopback it happens every time a fast sender resets a busy reader. A
// bridge that passes 'end' on as a FIN turns the peer's reset into a clean
// close on the other side: a cut-off transfer looks complete.
//
// Nothing read the pending error, so the socket still holds it. A zero-length
// write returns it: a socket that got a real FIN (CLOSE_WAIT) takes the write
// and sends nothing; a reset one (CLOSE) fails it with ECONNRESET or EPIPE.
// This needs only Node built-ins, so the relay (a stock node image) uses it
// too.
import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';

const NOTHING = Buffer.alloc(0);

export interface PeerEndHandlers {
  /** The peer sent FIN after its last byte: end the other side cleanly. */
  fin(): void;
  /** The peer reset the connection (however Node reported it): reset the other side. */
  reset(err: Error): void;
}

/**
 * Calls `fin` or `reset` once the peer's side of `socket` ends: after every
 * byte was read (and went through any pipe). `socket` must allow half-open
 * connections, or Node ends our side first and the probe cannot run.
 */
export function whenPeerEnds(socket: Socket, handlers: PeerEndHandlers): void {
  socket.once('end', () => {
    // Our side already sent its FIN (or is gone): nothing can be written to
    // ask, and the connection was closing anyway.
    if (socket.destroyed || !socket.writable || socket.writableEnded) {
      handlers.fin();
      return;
    }
    // Queued after any bytes still going to the peer: the answer comes once they are out.
    socket.write(NOTHING, (err) => {
      if (err) handlers.reset(err);
      else handlers.fin();
    });
  });
}

/**
 * Pipes `from` into `to` with back-pressure and ends `to` once the peer of
 * `from` sent its FIN, after every byte; calls `onReset` instead when the
 * peer reset the connection. How every bridge of a socket to another stream
 * passes the socket's end on.
 */
export function pipeUntilPeerEnds(from: Socket, to: Writable, onReset: (err: Error) => void): void {
  from.pipe(to, { end: false });
  whenPeerEnds(from, { fin: () => { if (!to.destroyed) to.end(); }, reset: onReset });
}
