// Who is on the other end of a Unix socket, as the kernel says (SO_PEERCRED).
// The daemon runs as root; this is what keeps other users off its socket.
import type { Socket } from 'node:net';
import koffi from 'koffi';

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

const SOL_SOCKET = 1;
const SO_PEERCRED = 17; // Linux

type GetSockOpt = (fd: number, level: number, name: number, out: Record<string, number>, len: number[]) => number;
let getsockopt: GetSockOpt | undefined;

function bind(): GetSockOpt {
  if (!getsockopt) {
    const libc = koffi.load('libc.so.6');
    const ucred = koffi.struct('tpv_ucred', { pid: 'int32', uid: 'uint32', gid: 'uint32' });
    getsockopt = libc.func('int getsockopt(int, int, int, _Out_ tpv_ucred *, _Inout_ uint32 *)') as unknown as GetSockOpt;
    void ucred;
  }
  return getsockopt;
}

/** Reads the peer's credentials; throws when the platform or socket does not allow it. */
export function peerCredentials(socket: Socket): PeerCredentials {
  if (process.platform !== 'linux') throw new Error(`peer credentials are not implemented on ${process.platform}`);
  const handle = (socket as unknown as { _handle?: { fd?: number } })._handle;
  const fd = handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('socket has no file descriptor');
  const out: Record<string, number> = {};
  const len = [12];
  const rc = bind()(fd, SOL_SOCKET, SO_PEERCRED, out, len);
  if (rc !== 0) throw new Error(`getsockopt(SO_PEERCRED) failed (${rc})`);
  return { pid: out.pid ?? -1, uid: out.uid ?? -1, gid: out.gid ?? -1 };
}

/** The daemon serves exactly one user, plus root. */
export function isPeerAllowed(peer: PeerCredentials, ownerUid: number): boolean {
  return peer.uid === 0 || peer.uid === ownerUid;
}
