// Sockets carrying a firewall mark (SO_MARK). The forwarder's queries to the
// original nameservers travel to the very address:53 that our nftables rule
// redirects to the local DNS server; the rule skips packets with this mark,
// so our own questions are never caught in a loop. Linux only; needs
// CAP_NET_ADMIN (the daemon is root). Node cannot set SO_MARK itself, so the
// socket is made with libc through koffi and handed to Node by descriptor.
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import type * as KoffiModule from 'koffi';

const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_MARK = 36;

interface SocketCalls {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: number[], length: number): number;
  close(fd: number): number;
  errno(): number;
  strerror(errno: number): string;
}

let calls: SocketCalls | undefined;

function libc(): SocketCalls {
  if (calls) return calls;
  if (process.platform !== 'linux') throw new Error(`socket marks are only available on Linux (this is ${process.platform})`);
  // A plain require keeps koffi external to every bundle (it is copied next to them).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const koffi = require('koffi') as typeof KoffiModule;
  const lib = koffi.load('libc.so.6');
  const strerror = lib.func('const char *strerror(int errnum)');
  calls = {
    socket: lib.func('int socket(int domain, int type, int protocol)'),
    setsockopt: lib.func('int setsockopt(int fd, int level, int name, _In_ uint32_t *value, uint32_t length)'),
    close: lib.func('int close(int fd)'),
    errno: () => koffi.errno(),
    strerror: (n) => strerror(n) as string,
  };
  return calls;
}

function markedDescriptor(family: 4 | 6, type: number, mark: number): number {
  const c = libc();
  const fd = c.socket(family === 6 ? AF_INET6 : AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    const n = c.errno();
    throw new Error(`socket() failed: ${c.strerror(n)} (errno ${n})`);
  }
  if (c.setsockopt(fd, SOL_SOCKET, SO_MARK, [mark >>> 0], 4) !== 0) {
    const n = c.errno();
    c.close(fd);
    throw new Error(`setsockopt(SO_MARK) failed: ${c.strerror(n)} (errno ${n}); the daemon needs CAP_NET_ADMIN (run it as root)`);
  }
  return fd;
}

/** An unconnected UDP socket with the mark set, ready for `send`. */
export function markedUdpSocket(family: 4 | 6, mark: number): Promise<dgram.Socket> {
  const fd = markedDescriptor(family, SOCK_DGRAM, mark);
  const socket = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ fd }, () => {
      socket.removeListener('error', reject);
      resolve(socket);
    });
  });
}

/** A TCP connection whose SYN already carries the mark. */
export function markedTcpConnection(family: 4 | 6, mark: number, host: string, port: number): net.Socket {
  const fd = markedDescriptor(family, SOCK_STREAM, mark);
  const socket = new net.Socket({ fd, readable: true, writable: true });
  socket.connect(port, host);
  return socket;
}

/** True when marks can be set here (Linux, koffi loads, enough privilege). */
export function socketMarksAvailable(): boolean {
  try {
    const c = libc();
    const fd = markedDescriptor(4, SOCK_DGRAM, 1);
    c.close(fd);
    return true;
  } catch {
    return false;
  }
}
