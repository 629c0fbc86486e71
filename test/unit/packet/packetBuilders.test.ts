import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatIpAddress, parseIpAddress } from '../../../daemon/packet/ipAddress';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, TCP_ACK, TCP_RST, newIpPacketView, parseIpPacket, readU16, readU32 } from '../../../daemon/packet/ipPacket';
import { buildIcmpUnreachableFor, buildTcpResetFor, buildUdpPacket } from '../../../daemon/packet/packetBuilders';
import { capturedPackets, hex } from './capturedPackets';
import { checksumsValid } from './checksumOracle';

const view = (pkt: Uint8Array) => { const v = newIpPacketView(); assert.ok(parseIpPacket(pkt, 0, pkt.length, v)); return v; };

describe('packet builders', () => {
  it('builds the same UDP datagram the kernel sent (IPv4 and IPv6 checksums match)', () => {
    const k4 = hex(capturedPackets.udp4);
    const b4 = buildUdpPacket({ src: parseIpAddress('198.18.0.1'), srcPort: 59959, dst: parseIpAddress('10.140.0.53'), dstPort: 53, payload: Buffer.from('hello udp4') });
    assert.deepEqual(b4.subarray(20), k4.subarray(20)); // UDP header + checksum identical
    assert.ok(checksumsValid(b4));
    const k6 = hex(capturedPackets.udp6);
    const b6 = buildUdpPacket({ src: parseIpAddress('fd00:198::1'), srcPort: 50529, dst: parseIpAddress('fd00:140::53'), dstPort: 5353, payload: Buffer.from('hello udp6!') });
    assert.deepEqual(b6.subarray(40), k6.subarray(40));
    assert.deepEqual(b6.subarray(4, 40), k6.subarray(4, 40));
  });

  it('answers a SYN with RST|ACK acknowledging it, from the dialed address', () => {
    for (const syn of [capturedPackets.tcpSyn4, capturedPackets.tcpSyn6]) {
      const s = view(hex(syn));
      const rst = buildTcpResetFor(s)!;
      const r = view(rst);
      assert.ok(checksumsValid(rst));
      assert.equal(formatIpAddress(rst, r.srcOffset, r.addressLength), formatIpAddress(s.buf, s.dstOffset, s.addressLength));
      assert.equal(formatIpAddress(rst, r.dstOffset, r.addressLength), formatIpAddress(s.buf, s.srcOffset, s.addressLength));
      assert.equal(readU16(rst, r.l4Offset), readU16(s.buf, s.l4Offset + 2));
      assert.equal(readU16(rst, r.l4Offset + 2), readU16(s.buf, s.l4Offset));
      assert.equal(rst[r.l4Offset + 13], TCP_RST | TCP_ACK);
      assert.equal(readU32(rst, r.l4Offset + 8), (readU32(s.buf, s.l4Offset + 4) + 1) >>> 0);
    }
  });

  it('resets an ACK-bearing stray with its acknowledgment number as sequence and ignores RSTs', () => {
    const pkt = hex(capturedPackets.tcpSyn4);
    pkt[20 + 13] = TCP_ACK;
    pkt.set([0xde, 0xad, 0xbe, 0xef], 20 + 8);
    const rst = buildTcpResetFor(view(pkt))!;
    assert.equal(rst[20 + 13], TCP_RST);
    assert.equal(readU32(rst, 24), 0xdeadbeef);
    pkt[20 + 13] = TCP_RST;
    assert.equal(buildTcpResetFor(view(pkt)), null);
  });

  it('builds ICMP and ICMPv6 unreachables that quote the offending packet', () => {
    const u4 = hex(capturedPackets.udp4);
    const i4 = buildIcmpUnreachableFor(view(u4), 'port');
    const v4 = view(i4);
    assert.equal(v4.protocol, IPPROTO_ICMP);
    assert.deepEqual([i4[20], i4[21]], [3, 3]);
    assert.deepEqual(i4.subarray(28), u4);
    assert.ok(checksumsValid(i4));
    const s6 = hex(capturedPackets.tcpSyn6);
    const i6 = buildIcmpUnreachableFor(view(s6), 'host');
    const v6 = view(i6);
    assert.equal(v6.protocol, IPPROTO_ICMPV6);
    assert.deepEqual([i6[40], i6[41]], [1, 3]);
    assert.deepEqual(i6.subarray(48), s6);
    assert.ok(checksumsValid(i6));
  });
});
