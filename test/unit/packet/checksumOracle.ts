// A deliberately naive checksum verifier for the tests (RFC 1071 straight from
// the text, sharing no code with daemon/packet/checksum.ts): a packet is
// valid when the ones'-complement sum over the covered bytes is 0xffff.
export function onesComplementSum(bytes: number[]): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) {
    sum += bytes[i]! * 256 + (bytes[i + 1] ?? 0);
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  return sum;
}

/** True when the IPv4 header checksum (if v4) and the TCP/UDP/ICMP checksum all verify. */
export function checksumsValid(pkt: Uint8Array): boolean {
  const b = Array.from(pkt);
  const v4 = b[0]! >> 4 === 4;
  const ihl = v4 ? (b[0]! & 15) * 4 : 40;
  if (v4 && onesComplementSum(b.slice(0, ihl)) !== 0xffff) return false;
  const proto = v4 ? b[9]! : b[6]!;
  const l4 = b.slice(ihl);
  const addrs = v4 ? b.slice(12, 20) : b.slice(8, 40);
  const pseudo = proto === 1 ? [] : [...addrs, 0, 0, l4.length >> 8 & 0xff, l4.length & 0xff, 0, 0, 0, proto];
  // (pseudo-header: src, dst, zero-padded length and protocol; word alignment is what matters)
  return onesComplementSum([...pseudo, ...l4]) === 0xffff;
}
