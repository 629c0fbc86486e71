// The few libc calls the TUN device needs, bound through koffi. Loaded lazily
// (once per thread: the reader worker binds its own copy) so that importing
// this module never fails on machines without koffi's native part.
import type * as KoffiModule from 'koffi';

export interface Libc {
  open(path: string, flags: number): number;
  close(fd: number): number;
  read(fd: number, buf: Uint8Array, count: number): number;
  write(fd: number, buf: Uint8Array, count: number): number;
  /** ioctl(fd, request, void *arg) */
  ioctlPtr(fd: number, request: number, arg: Uint8Array): number;
  poll(fds: Uint8Array, nfds: number, timeoutMs: number): number;
  eventfd(initval: number, flags: number): number;
  socket(domain: number, type: number, protocol: number): number;
  errno(): number;
  strerror(errno: number): string;
}

export const O_RDWR = 0o2;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;
export const EFD_NONBLOCK = 0o4000;
export const EFD_CLOEXEC = 0o2000000;
export const POLLIN = 0x1;
export const EINTR = 4;
export const EAGAIN = 11;
export const AF_INET = 2;
export const SOCK_DGRAM = 2;

let loaded: Libc | undefined;

export function libc(): Libc {
  if (loaded) return loaded;
  if (process.platform !== 'linux') throw new Error(`the TUN device is only implemented for Linux (this is ${process.platform})`);
  // A plain require keeps koffi external to every bundle (it is copied next to them).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const koffi = require('koffi') as typeof KoffiModule;
  const lib = koffi.load('libc.so.6');
  const ioctl = lib.func('int ioctl(int fd, unsigned long request, ...)');
  const strerror = lib.func('const char *strerror(int errnum)');
  loaded = {
    open: lib.func('int open(const char *path, int flags)'),
    close: lib.func('int close(int fd)'),
    read: lib.func('long read(int fd, void *buf, size_t count)'),
    write: lib.func('long write(int fd, const void *buf, size_t count)'),
    ioctlPtr: (fd, request, arg) => ioctl(fd, request, 'void *', arg) as number,
    poll: lib.func('int poll(void *fds, unsigned long nfds, int timeout)'),
    eventfd: lib.func('int eventfd(unsigned int initval, int flags)'),
    socket: lib.func('int socket(int domain, int type, int protocol)'),
    errno: () => koffi.errno(),
    strerror: (n) => strerror(n) as string,
  };
  return loaded;
}

/** "EBUSY: Device or resource busy"-style text for the last failed call. */
export function lastError(c: Libc, what: string): Error {
  const n = c.errno();
  const err = new Error(`${what}: ${c.strerror(n)} (errno ${n})`) as Error & { errno: number };
  err.errno = n;
  return err;
}
