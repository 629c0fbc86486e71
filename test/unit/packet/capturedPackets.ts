// Packets the Linux kernel wrote into a TUN device (captured with
// TunDevice + TunReader in a namespace; addresses as in the integration test).
// Their checksums were computed by the kernel: an oracle independent of ours.
export const capturedPackets = {
  /** 198.18.0.1:57250 -> 10.140.0.5:80 SYN with MSS/SACK/timestamps/wscale options. */
  tcpSyn4: '4500003cd65d4000400693bac61200010a8c0005dfa20050735e54f300000000a002ffd7b9dc00000204ffd70402080a5444c6f7000000000103030a',
  /** [fd00:198::1]:54184 -> [fd00:140::5]:8443 SYN. */
  tcpSyn6: '6006859800280640fd000198000000000000000000000001fd000140000000000000000000000005d3a820fbf5123fb900000000a002ffc309d200000204ffc30402080a5834c5d3000000000103030a',
  /** 198.18.0.1:59959 -> 10.140.0.53:53 "hello udp4". */
  udp4: '4500002615b3400040115440c61200010a8c0035ea37003500121afe68656c6c6f2075647034',
  /** [fd00:198::1]:50529 -> [fd00:140::53]:5353 "hello udp6!". */
  udp6: '6009dea400131140fd000198000000000000000000000001fd000140000000000000000000000053c56114e90013ddc268656c6c6f207564703621',
};

export function hex(h: string): Uint8Array {
  return new Uint8Array(Buffer.from(h, 'hex'));
}
