// A Linux TUN device opened through koffi: IFF_TUN | IFF_NO_PI (raw IP
// packets, no prefix), non-persistent, so closing our descriptor deletes the
// device and with it every address and route on it. Addresses and routes are
// configured by the caller (iproute2); this file only creates, writes, reads
// (through TunReader) and removes.
import { EFD_CLOEXEC, EFD_NONBLOCK, AF_INET, O_CLOEXEC, O_NONBLOCK, O_RDWR, SOCK_DGRAM, lastError, libc } from './libc';
import { TunReader, type TunReaderOptions } from './tunReader';

const TUNSETIFF = 0x400454ca;
const SIOCSIFMTU = 0x8922;
const IFF_TUN = 0x0001;
const IFF_NO_PI = 0x1000;
const IFNAMSIZ = 16;
const IFREQ_SIZE = 40;
/** The kernel's limit for a TUN device (and what gives the TCP NAT its throughput). */
export const TUN_MAX_MTU = 65535;

export interface TunDeviceOptions {
  /** Interface name, at most 15 bytes; a `%d` lets the kernel pick a number (e.g. "tpv%d"). */
  name: string;
  /** Default 65535: large segments make the TCP NAT cheap per byte (see test/bench/packetPath.ts). */
  mtu?: number;
}

export function ifreqFor(name: string): Uint8Array {
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length === 0 || bytes.length >= IFNAMSIZ) throw new Error(`TUN device name "${name}" must be 1 to ${IFNAMSIZ - 1} bytes long`);
  if (/[\s/:]/.test(name)) throw new Error(`TUN device name "${name}" may not contain whitespace, "/" or ":"`);
  const ifr = new Uint8Array(IFREQ_SIZE);
  ifr.set(bytes, 0);
  return ifr;
}

export class TunDevice {
  private reader: TunReader | undefined;
  private closed = false;
  private writeErrors = 0;

  private constructor(readonly name: string, readonly mtu: number, readonly fd: number, readonly wakeFd: number) {}

  static open(opts: TunDeviceOptions): TunDevice {
    const c = libc();
    const mtu = opts.mtu ?? TUN_MAX_MTU;
    if (!Number.isInteger(mtu) || mtu < 1280 || mtu > TUN_MAX_MTU) throw new Error(`TUN MTU ${mtu} must be an integer from 1280 to ${TUN_MAX_MTU}`);
    const ifr = ifreqFor(opts.name);
    // Non-blocking: the reader drains the queue and then sleeps in poll(2) with a
    // wake-up eventfd, which is what lets close() stop it promptly.
    const fd = c.open('/dev/net/tun', O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) throw lastError(c, 'opening /dev/net/tun (the daemon must run as root with the tun module loaded)');
    new DataView(ifr.buffer).setInt16(IFNAMSIZ, IFF_TUN | IFF_NO_PI, true);
    if (c.ioctlPtr(fd, TUNSETIFF, ifr) < 0) {
      const err = lastError(c, `creating TUN device "${opts.name}" (is another process using that name?)`);
      c.close(fd);
      throw err;
    }
    const name = Buffer.from(ifr.subarray(0, IFNAMSIZ)).toString('utf8').replace(/\0.*$/s, '');
    const wakeFd = c.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wakeFd < 0) { const err = lastError(c, 'eventfd'); c.close(fd); throw err; }
    const dev = new TunDevice(name, mtu, fd, wakeFd);
    try {
      dev.setMtu(mtu);
    } catch (e) {
      dev.closeDescriptors();
      throw e;
    }
    return dev;
  }

  private setMtu(mtu: number): void {
    const c = libc();
    const sock = c.socket(AF_INET, SOCK_DGRAM, 0);
    if (sock < 0) throw lastError(c, 'socket for SIOCSIFMTU');
    try {
      const ifr = ifreqFor(this.name);
      new DataView(ifr.buffer).setInt32(IFNAMSIZ, mtu, true);
      if (c.ioctlPtr(sock, SIOCSIFMTU, ifr) < 0) throw lastError(c, `setting MTU ${mtu} on ${this.name}`);
    } finally {
      c.close(sock);
    }
  }

  /** One packet, one write(2). Returns false (and counts it) when the kernel refuses it. */
  write(packet: Uint8Array): boolean {
    if (this.closed) return false;
    if (libc().write(this.fd, packet, packet.length) < 0) { this.writeErrors++; return false; }
    return true;
  }

  get failedWrites(): number { return this.writeErrors; }

  /** Starts the reader thread (once). */
  startReader(opts: TunReaderOptions): TunReader {
    if (this.closed) throw new Error(`TUN device ${this.name} is closed`);
    if (this.reader) throw new Error(`TUN device ${this.name} already has a reader`);
    this.reader = new TunReader(this.fd, this.wakeFd, this.mtu, opts);
    return this.reader;
  }

  /** Stops the reader, then closes the descriptor, which removes the device. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.reader) await this.reader.stop();
    this.closeDescriptors();
  }

  private closeDescriptors(): void {
    const c = libc();
    c.close(this.fd);
    c.close(this.wakeFd);
  }
}
