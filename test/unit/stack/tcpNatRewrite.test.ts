import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatIpAddress, parseIpAddress } from '../../../daemon/packet/ipAddress';
import { TCP_ACK, TCP_SYN, newIpPacketView, parseIpPacket, readU16 } from '../../../daemon/packet/ipPacket';
import { NatTable } from '../../../daemon/stack/natTable';
import { NAT_DROP, NAT_FORWARD, NAT_TO_MAIN, rewriteClientPacket, translateTcpPacket } from '../../../daemon/stack/tcpNatRewrite';
import { capturedPackets, hex } from '../packet/capturedPackets';
import { checksumsValid } from '../packet/checksumOracle';

const v4 = { tunIp: parseIpAddress('198.18.0.1'), fakeIp: parseIpAddress('198.18.0.2'), listenPort: 40000 };
const v6 = { tunIp: parseIpAddress('fd00:198::1'), fakeIp: parseIpAddress('fd00:198::2'), listenPort: 40001 };

function endpoints(pkt: Uint8Array) {
  const v = newIpPacketView();
  assert.ok(parseIpPacket(pkt, 0, pkt.length, v));
  return {
    src: `${formatIpAddress(pkt, v.srcOffset, v.addressLength)}:${readU16(pkt, v.l4Offset)}`,
    dst: `${formatIpAddress(pkt, v.dstOffset, v.addressLength)}:${readU16(pkt, v.l4Offset + 2)}`,
    l4: v.l4Offset,
  };
}

/** A captured SYN turned into a mid-flow data segment (ACK set, payload appended), checksums recomputed from scratch. */
function dataSegment(synHex: string, payload: string): Uint8Array {
  const syn = hex(synHex);
  const v4 = syn[0]! >> 4 === 4;
  const ipLen = v4 ? 20 : 40;
  const pkt = new Uint8Array(syn.length + payload.length);
  pkt.set(syn);
  pkt.set(Buffer.from(payload), syn.length);
  pkt[ipLen + 13] = TCP_ACK;
  if (v4) { pkt[2] = pkt.length >> 8; pkt[3] = pkt.length & 0xff; } else { const l = pkt.length - 40; pkt[4] = l >> 8; pkt[5] = l & 0xff; }
  fixChecksums(pkt);
  return pkt;
}

function fixChecksums(pkt: Uint8Array): void {
  // Plain RFC 1071 arithmetic, independent of daemon/packet/checksum.ts.
  const b = pkt;
  const v4 = b[0]! >> 4 === 4;
  const ipLen = v4 ? 20 : 40;
  const sum = (bytes: number[]) => { let s = 0; for (let i = 0; i < bytes.length; i += 2) { s += bytes[i]! * 256 + (bytes[i + 1] ?? 0); s = (s & 0xffff) + (s >>> 16); } return s; };
  if (v4) { b[10] = 0; b[11] = 0; const c = ~sum(Array.from(b.subarray(0, 20))) & 0xffff; b[10] = c >> 8; b[11] = c & 0xff; }
  b[ipLen + 16] = 0; b[ipLen + 17] = 0;
  const l4 = Array.from(b.subarray(ipLen));
  const addrs = Array.from(v4 ? b.subarray(12, 20) : b.subarray(8, 40));
  const c = ~sum([...addrs, 0, 0, l4.length >> 8, l4.length & 0xff, 0, 0, 0, 6, ...l4]) & 0xffff;
  b[ipLen + 16] = c >> 8; b[ipLen + 17] = c & 0xff;
}

describe('TCP NAT rewrite', () => {
  it('leaves a SYN, UDP and unknown flows to the main thread', () => {
    const table = new NatTable(v4, v6);
    assert.equal(translateTcpPacket(table, hex(capturedPackets.tcpSyn4), 0, 60), NAT_TO_MAIN);
    assert.equal(translateTcpPacket(table, hex(capturedPackets.udp4), 0, 38), NAT_TO_MAIN);
    const data = dataSegment(capturedPackets.tcpSyn4, 'x');
    assert.equal(translateTcpPacket(table, data, 0, data.length), NAT_TO_MAIN);
    // Even a SYN of a known flow: admission is the main thread's decision.
    table.insert(7, parseIpAddress('198.18.0.1'), 57250, parseIpAddress('10.140.0.5'), 80);
    assert.equal(translateTcpPacket(table, hex(capturedPackets.tcpSyn4), 0, 60), NAT_TO_MAIN);
    // IPv6 without v6 addresses configured.
    const v4only = new NatTable(v4, null);
    const d6 = dataSegment(capturedPackets.tcpSyn6, 'y');
    assert.equal(translateTcpPacket(v4only, d6, 0, d6.length), NAT_TO_MAIN);
  });

  for (const [family, synHex, client, original, fam] of [
    ['IPv4', capturedPackets.tcpSyn4, '198.18.0.1:57250', '10.140.0.5:80', v4],
    ['IPv6', capturedPackets.tcpSyn6, 'fd00:198::1:54184', 'fd00:140::5:8443', v6],
  ] as const) {
    it(`rewrites both directions of a known ${family} flow with valid checksums`, () => {
      const table = new NatTable(v4, v6);
      const syn = hex(synHex);
      const ep = endpoints(syn);
      const vw = newIpPacketView(); parseIpPacket(syn, 0, syn.length, vw);
      table.insert(4242, syn.slice(vw.srcOffset, vw.srcOffset + vw.addressLength), readU16(syn, vw.l4Offset),
        syn.slice(vw.dstOffset, vw.dstOffset + vw.addressLength), readU16(syn, vw.l4Offset + 2));
      assert.equal(`${ep.src}`, client);
      assert.equal(`${ep.dst}`, original);

      const fwd = dataSegment(synHex, 'hello');
      // Inside a larger buffer at an odd offset, as in a batch slot.
      const slot = new Uint8Array(fwd.length + 11); slot.set(fwd, 5);
      assert.equal(translateTcpPacket(table, slot, 5, fwd.length), NAT_FORWARD);
      const out = slot.slice(5, 5 + fwd.length);
      assert.ok(checksumsValid(out), 'forward checksums');
      const fe = endpoints(out);
      const tun = formatIpAddress(fam.tunIp, 0, fam.tunIp.length as 4 | 16);
      const fake = formatIpAddress(fam.fakeIp, 0, fam.fakeIp.length as 4 | 16);
      assert.equal(fe.src, `${fake}:4242`);
      assert.equal(fe.dst, `${tun}:${fam.listenPort}`);
      assert.equal(Buffer.from(out.subarray(out.length - 5)).toString(), 'hello');

      // The listener's answer: swap addresses and ports of the rewritten packet.
      const reply = out.slice();
      const ipLen = family === 'IPv4' ? 20 : 40;
      const alen = family === 'IPv4' ? 4 : 16;
      const srcOff = family === 'IPv4' ? 12 : 8;
      reply.set(out.subarray(srcOff + alen, srcOff + 2 * alen), srcOff);
      reply.set(out.subarray(srcOff, srcOff + alen), srcOff + alen);
      reply.set(out.subarray(ipLen + 2, ipLen + 4), ipLen);
      reply.set(out.subarray(ipLen, ipLen + 2), ipLen + 2);
      fixChecksums(reply);
      assert.equal(translateTcpPacket(table, reply, 0, reply.length), NAT_FORWARD);
      assert.ok(checksumsValid(reply), 'reverse checksums');
      const re = endpoints(reply);
      assert.equal(re.src, original);
      assert.equal(re.dst, client);

      // Once removed, replies are dropped and client packets go to the main thread.
      table.remove(4242);
      const again = dataSegment(synHex, 'late');
      assert.equal(translateTcpPacket(table, again, 0, again.length), NAT_TO_MAIN);
      const staleReply = out.slice();
      staleReply.set(out.subarray(srcOff + alen, srcOff + 2 * alen), srcOff);
      staleReply.set(out.subarray(srcOff, srcOff + alen), srcOff + alen);
      staleReply.set(out.subarray(ipLen + 2, ipLen + 4), ipLen);
      staleReply.set(out.subarray(ipLen, ipLen + 2), ipLen + 2);
      assert.equal(translateTcpPacket(table, staleReply, 0, staleReply.length), NAT_DROP);
    });
  }

  it('rewrites an admitted SYN like any packet of its flow', () => {
    const table = new NatTable(v4, v6);
    const syn = hex(capturedPackets.tcpSyn4);
    table.insert(9, parseIpAddress('198.18.0.1'), 57250, parseIpAddress('10.140.0.5'), 80);
    rewriteClientPacket(table, 9, syn, 0);
    assert.ok(checksumsValid(syn));
    assert.deepEqual(endpoints(syn).src, '198.18.0.2:9');
    assert.equal(syn[20 + 13]! & TCP_SYN, TCP_SYN);
  });
});
