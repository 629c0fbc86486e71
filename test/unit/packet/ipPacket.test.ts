import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatIpAddress, parseIpAddress } from '../../../daemon/packet/ipAddress';
import { IPPROTO_TCP, IPPROTO_UDP, TCP_SYN, newIpPacketView, parseIpPacket, readU16, readU32 } from '../../../daemon/packet/ipPacket';
import { capturedPackets, hex } from './capturedPackets';

describe('IP packet view', () => {
  it('parses a captured IPv4 SYN in place, inside a larger buffer', () => {
    const pkt = hex(capturedPackets.tcpSyn4);
    const big = new Uint8Array(pkt.length + 100);
    big.set(pkt, 37);
    const v = newIpPacketView();
    assert.ok(parseIpPacket(big, 37, pkt.length + 63, v));
    assert.equal(v.version, 4);
    assert.equal(v.protocol, IPPROTO_TCP);
    assert.equal(v.length, 60);
    assert.equal(formatIpAddress(big, v.srcOffset, 4), '198.18.0.1');
    assert.equal(formatIpAddress(big, v.dstOffset, 4), '10.140.0.5');
    assert.equal(readU16(big, v.l4Offset), 57250);
    assert.equal(readU16(big, v.l4Offset + 2), 80);
    assert.equal(big[v.l4Offset + 13]! & TCP_SYN, TCP_SYN);
    assert.equal(readU32(big, v.l4Offset + 4), 0x735e54f3);
    assert.equal(v.l4Length, 40);
    assert.equal(v.fragment, false);
  });

  it('parses a captured IPv6 UDP datagram', () => {
    const pkt = hex(capturedPackets.udp6);
    const v = newIpPacketView();
    assert.ok(parseIpPacket(pkt, 0, pkt.length, v));
    assert.equal(v.version, 6);
    assert.equal(v.protocol, IPPROTO_UDP);
    assert.equal(formatIpAddress(pkt, v.srcOffset, 16), 'fd00:198::1');
    assert.equal(formatIpAddress(pkt, v.dstOffset, 16), 'fd00:140::53');
    assert.equal(readU16(pkt, v.l4Offset + 2), 5353);
    assert.equal(Buffer.from(pkt.subarray(v.l4Offset + 8, v.offset + v.length)).toString(), 'hello udp6!');
  });

  it('rejects truncated packets and unknown versions, flags fragments', () => {
    const pkt = hex(capturedPackets.udp4);
    const v = newIpPacketView();
    assert.equal(parseIpPacket(pkt, 0, pkt.length - 1, v), false);
    assert.equal(parseIpPacket(pkt, 0, 19, v), false);
    const bad = pkt.slice(); bad[0] = 0x55;
    assert.equal(parseIpPacket(bad, 0, bad.length, v), false);
    const frag = pkt.slice(); frag[6] = 0x20; // MF
    assert.ok(parseIpPacket(frag, 0, frag.length, v));
    assert.equal(v.fragment, true);
  });

  it('round-trips address text, including IPv6 compression and embedded IPv4', () => {
    for (const [text, canonical] of [
      ['10.140.0.5', '10.140.0.5'], ['fd00:140::5', 'fd00:140::5'], ['::', '::'], ['::1', '::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], ['fe80:0:0:0:1:0:0:0', 'fe80::1:0:0:0'], ['1:0:0:2:0:0:0:3', '1:0:0:2::3'], ['::ffff:10.0.0.1', '::ffff:a00:1'],
    ] as const) {
      const bytes = parseIpAddress(text);
      assert.equal(formatIpAddress(bytes, 0, bytes.length as 4 | 16), canonical, text);
    }
    assert.throws(() => parseIpAddress('10.0.0.256'), /not an IPv4 or IPv6 address/);
  });
});
