// What the system stack tells the daemon about a flow, and what the daemon
// answers. Addresses are text (IPv4 dotted or IPv6 RFC 5952).

/** A flow as the local client sent it: from srcIp:srcPort to the (cluster or virtual) dstIp:dstPort. */
export interface FlowEndpoints {
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
}

export interface UdpDatagram extends FlowEndpoints {
  /** A private copy: the daemon may keep it after the handler returns. */
  payload: Uint8Array;
}

/**
 * The daemon's answer to a new TCP connection, given before the local
 * handshake completes:
 * - accept: complete the handshake; `onTcpFlow` receives the socket and `context`
 *   (e.g. the upstream stream the daemon already opened);
 * - refuse: answer the SYN with RST, the local connect() fails with ECONNREFUSED at once;
 * - unreachable: ICMP host unreachable, connect() fails with EHOSTUNREACH;
 * - drop: say nothing, the client retransmits and eventually times out (ETIMEDOUT).
 */
export type TcpVerdict<C> =
  | { action: 'accept'; context: C }
  | { action: 'refuse' }
  | { action: 'unreachable' }
  | { action: 'drop' };
