// Malformed, truncated and merely odd IP packets, from a seeded generator so
// that a failing run can be replayed. Pure: the in-process fuzz feeds them to
// the system stack, tunInjector.ts writes them into the daemon's TUN device.
//
// Most packets are broken in one specific way (a length field that lies, a
// header length below the minimum, an option list that runs off the end...)
// so that every check of the parsers is reached; a few are valid SYNs and
// datagrams, so the paths behind the checks run too, under the same storm.
import { finishChecksum, pseudoHeaderSum, sumWords } from '../../../daemon/packet/checksum';

export type Random = () => number;

/** mulberry32: small, fast, good enough to spread bytes; same seed, same packets. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FuzzAddresses {
  /** IPv4 sources (e.g. the TUN address the kernel uses for routed traffic). */
  sources: Uint8Array[];
  /** IPv4 destinations (virtual IPs, the NAT's own addresses, unallocated ones). */
  destinations: Uint8Array[];
  /** Destination ports tried for the valid packets (few, to keep the cluster's work bounded). */
  validPorts: number[];
}

export const FUZZ_KINDS = [
  'random-bytes', 'truncated', 'bad-ip-header', 'ip-options', 'fragment', 'tcp-odd', 'udp-odd',
  'icmp', 'ipv6', 'other-protocol', 'valid-syn', 'valid-udp',
] as const;
export type FuzzKind = (typeof FUZZ_KINDS)[number];

/** Relative weights: mostly broken, about 1 % valid. */
const WEIGHTS: Record<FuzzKind, number> = {
  'random-bytes': 12, truncated: 14, 'bad-ip-header': 14, 'ip-options': 8, fragment: 6, 'tcp-odd': 16, 'udp-odd': 12,
  icmp: 5, ipv6: 8, 'other-protocol': 4, 'valid-syn': 0.5, 'valid-udp': 0.5,
};
const TOTAL_WEIGHT = Object.values(WEIGHTS).reduce((a, b) => a + b, 0);

const int = (r: Random, n: number) => Math.floor(r() * n);
const pick = <T>(r: Random, xs: readonly T[]): T => xs[int(r, xs.length)]!;
const bytes = (r: Random, n: number) => { const b = new Uint8Array(n); for (let i = 0; i < n; i++) b[i] = int(r, 256); return b; };

function kindFor(r: Random): FuzzKind {
  let x = r() * TOTAL_WEIGHT;
  for (const k of FUZZ_KINDS) { x -= WEIGHTS[k]; if (x < 0) return k; }
  return 'random-bytes';
}

/** A well-formed IPv4 packet with the given transport bytes (checksums right, unless the caller breaks them). */
function ipv4(src: Uint8Array, dst: Uint8Array, protocol: number, l4: Uint8Array, options: Uint8Array = new Uint8Array(0)): Uint8Array {
  const ihl = 20 + options.length;
  const out = new Uint8Array(ihl + l4.length);
  out[0] = 0x40 | (ihl / 4);
  out[2] = out.length >> 8; out[3] = out.length & 0xff;
  out[6] = 0x40; // DF
  out[8] = 64;
  out[9] = protocol;
  out.set(src, 12);
  out.set(dst, 16);
  out.set(options, 20);
  out.set(l4, ihl);
  const hsum = finishChecksum(sumWords(out, 0, ihl));
  out[10] = hsum >> 8; out[11] = hsum & 0xff;
  const csumAt = protocol === 6 ? 16 : protocol === 17 ? 6 : protocol === 1 ? 2 : -1;
  if (csumAt >= 0 && l4.length >= csumAt + 2) {
    const pseudo = protocol === 1 ? 0 : pseudoHeaderSum(out, 12, 16, 4, protocol, l4.length);
    const sum = finishChecksum(sumWords(out, ihl, out.length, pseudo));
    out[ihl + csumAt] = sum >> 8; out[ihl + csumAt + 1] = sum & 0xff;
  }
  return out;
}

function tcpSegment(r: Random, sport: number, dport: number, flags: number, dataOffsetWords = 5, payload = 0): Uint8Array {
  const hl = Math.max(20, dataOffsetWords * 4);
  const seg = new Uint8Array(hl + payload);
  seg[0] = sport >> 8; seg[1] = sport & 0xff;
  seg[2] = dport >> 8; seg[3] = dport & 0xff;
  seg.set(bytes(r, 8), 4); // sequence and acknowledgement numbers
  seg[12] = (dataOffsetWords & 0x0f) << 4;
  seg[13] = flags & 0xff;
  seg[14] = 0xff; seg[15] = 0xff; // window
  if (hl > 20) seg.set(bytes(r, hl - 20), 20); // options, probably nonsense
  return seg;
}

function udpDatagram(r: Random, sport: number, dport: number, payload: number, lengthField?: number): Uint8Array {
  const d = new Uint8Array(8 + payload);
  d[0] = sport >> 8; d[1] = sport & 0xff;
  d[2] = dport >> 8; d[3] = dport & 0xff;
  const len = lengthField ?? d.length;
  d[4] = (len >> 8) & 0xff; d[5] = len & 0xff;
  d.set(bytes(r, payload), 8);
  return d;
}

/** One packet of a random kind; `kind` forces one. */
export function fuzzPacket(r: Random, a: FuzzAddresses, kind: FuzzKind = kindFor(r)): { kind: FuzzKind; bytes: Uint8Array } {
  const src = r() < 0.9 ? pick(r, a.sources) : bytes(r, 4);
  const dst = r() < 0.95 ? pick(r, a.destinations) : bytes(r, 4);
  const sport = 1024 + int(r, 64000);
  const anyPort = () => (r() < 0.5 ? pick(r, a.validPorts) : int(r, 65536));
  switch (kind) {
    case 'random-bytes': {
      const b = bytes(r, 1 + int(r, r() < 0.8 ? 80 : 1500));
      if (r() < 0.5) b[0] = (r() < 0.5 ? 0x40 : 0x60) | (b[0]! & 0x0f); // looks like IPv4/IPv6 at first glance
      return { kind, bytes: b };
    }
    case 'truncated': {
      const whole = r() < 0.5
        ? ipv4(src, dst, 6, tcpSegment(r, sport, anyPort(), 0x02, 5 + int(r, 3), int(r, 100)))
        : ipv4(src, dst, 17, udpDatagram(r, sport, anyPort(), int(r, 200)));
      return { kind, bytes: whole.subarray(0, 1 + int(r, whole.length - 1)) };
    }
    case 'bad-ip-header': {
      const p = ipv4(src, dst, pick(r, [6, 17, 1]), r() < 0.5 ? tcpSegment(r, sport, anyPort(), 0x02) : udpDatagram(r, sport, anyPort(), int(r, 64)));
      switch (int(r, 5)) {
        case 0: p[0] = (p[0]! & 0xf0) | int(r, 5); break; // IHL below 5 words
        case 1: p[0] = (p[0]! & 0xf0) | (6 + int(r, 10)); break; // IHL past the transport header or the end
        case 2: { const t = int(r, 65536); p[2] = t >> 8; p[3] = t & 0xff; break; } // total length lies
        case 3: p[0] = (int(r, 16) << 4) | (p[0]! & 0x0f); break; // version anything
        default: p[10] = int(r, 256); p[11] = int(r, 256); break; // header checksum wrong
      }
      return { kind, bytes: p };
    }
    case 'ip-options': {
      const words = 1 + int(r, 10);
      const opts = bytes(r, words * 4);
      if (r() < 0.5) { opts[0] = pick(r, [7, 68, 131, 137, 148]); opts[1] = int(r, 256); } // RR/TS/LSRR/SSRR/RA with any length byte
      const l4 = r() < 0.5 ? tcpSegment(r, sport, anyPort(), r() < 0.7 ? 0x02 : int(r, 256)) : udpDatagram(r, sport, anyPort(), int(r, 64));
      return { kind, bytes: ipv4(src, dst, l4.length >= 20 && r() < 0.5 ? 6 : 17, l4, opts) };
    }
    case 'fragment': {
      const p = ipv4(src, dst, pick(r, [6, 17]), r() < 0.5 ? tcpSegment(r, sport, anyPort(), 0x02) : udpDatagram(r, sport, anyPort(), int(r, 64)));
      const off = r() < 0.5 ? 0 : 1 + int(r, 8191);
      p[6] = (r() < 0.7 ? 0x20 : 0) | (off >> 8); p[7] = off & 0xff; // MF and/or an offset
      return { kind, bytes: p };
    }
    case 'tcp-odd': {
      // Flags in every combination (SYN+FIN, SYN+RST, none...), data offsets from 0 to 15, with and without payload.
      const flags = int(r, 256);
      const doff = int(r, 16);
      const seg = tcpSegment(r, sport, anyPort(), flags, doff < 5 && r() < 0.5 ? doff : Math.max(5, doff), int(r, 64));
      if (doff < 5) seg[12] = doff << 4;
      return { kind, bytes: ipv4(src, dst, 6, seg.subarray(0, r() < 0.2 ? 20 : seg.length)) };
    }
    case 'udp-odd': {
      const payload = r() < 0.3 ? 0 : int(r, r() < 0.05 ? 9000 : 300);
      const lengthField = pick(r, [undefined, 0, 1 + int(r, 7), 8, 8 + payload + 1 + int(r, 100), int(r, 65536)]);
      return { kind, bytes: ipv4(src, dst, 17, udpDatagram(r, sport, r() < 0.3 ? pick(r, [0, 53, 65535]) : anyPort(), payload, lengthField)) };
    }
    case 'icmp': {
      const msg = bytes(r, 4 + int(r, 60));
      msg[0] = pick(r, [0, 3, 5, 8, 11, 13, int(r, 256)]);
      return { kind, bytes: ipv4(src, dst, 1, msg) };
    }
    case 'ipv6': {
      const payload = bytes(r, int(r, 120));
      const p = new Uint8Array(40 + payload.length);
      p[0] = 0x60;
      const plen = r() < 0.5 ? payload.length : int(r, 65536);
      p[4] = plen >> 8; p[5] = plen & 0xff;
      p[6] = pick(r, [0, 6, 17, 43, 44, 58, 59, 60, int(r, 256)]); // hop-by-hop, routing, fragment, no-next...
      p[7] = 64;
      p.set(bytes(r, 32), 8);
      p.set(payload, 40);
      return { kind, bytes: p.subarray(0, r() < 0.2 ? int(r, p.length) + 1 : p.length) };
    }
    case 'other-protocol':
      return { kind, bytes: ipv4(src, dst, pick(r, [0, 2, 4, 41, 47, 50, 132, 255]), bytes(r, int(r, 100))) };
    case 'valid-syn':
      return { kind, bytes: ipv4(a.sources[0]!, pick(r, a.destinations), 6, tcpSegment(r, sport, pick(r, a.validPorts), 0x02)) };
    case 'valid-udp':
      return { kind, bytes: ipv4(a.sources[0]!, pick(r, a.destinations), 17, udpDatagram(r, sport, pick(r, a.validPorts), int(r, 32))) };
  }
}

export function ipv4Bytes(text: string): Uint8Array {
  return Uint8Array.from(text.split('.').map(Number));
}
