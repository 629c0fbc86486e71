// The TUN reader thread. It reads packets with non-blocking read(2) into one
// preallocated buffer and, for TCP flows the NAT already knows, rewrites them
// and writes them straight back into the TUN: TCP data never crosses threads.
// Everything else (connection-opening SYNs, UDP, ICMP...) is copied into a
// shared ring; the main thread is sent one message when it is idle and then
// drains everything published so far, so a burst becomes one batch.
//
// It sleeps in poll(2) on the TUN and an eventfd only when the TUN is empty;
// the main thread writes the eventfd only to stop it (a thread blocked in
// read(2) could not be woken by closing the fd). Commands need no wake: they
// matter only for packets, and a packet wakes it anyway.
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { NatTable } from '../stack/natTable';
import { NAT_DROP, NAT_FORWARD, translateTcpPacket } from '../stack/tcpNatRewrite';
import { EAGAIN, EINTR, POLLIN, libc } from './libc';
import { PUSH_DROPPED, PUSH_NOTIFY, RingWriter } from './packetRing';
import {
  CTL_COMMAND_SEQ, CTL_STOP, STAT_DROPPED_RING_FULL, STAT_FAST_DROPPED, STAT_FAST_FORWARDED,
  STAT_NOTIFICATIONS, STAT_POLL_WAITS, STAT_READ_BYTES, STAT_READ_PACKETS, STAT_TO_MAIN, STAT_WRITE_ERRORS,
  type TunWorkerCommand, type TunWorkerData, type TunWorkerMessage,
} from './tunWorkerProtocol';

function run(data: TunWorkerData): void {
  const c = libc();
  const ctl = new Int32Array(data.control);
  const stats = new Float64Array(data.stats);
  const ring = new RingWriter(data.ring, ctl);
  const table = data.fastPath ? new NatTable(data.fastPath.v4, data.fastPath.v6) : null;
  const buf = new Uint8Array(Math.max(data.maxPacket, 65535) + 4);
  const pollFds = new Uint8Array(16); // struct pollfd[2] { int fd; short events; short revents; }
  const pollView = new DataView(pollFds.buffer);
  pollView.setInt32(0, data.fd, true); pollView.setInt16(4, POLLIN, true);
  pollView.setInt32(8, data.wakeFd, true); pollView.setInt16(12, POLLIN, true);
  const eventfdValue = new Uint8Array(8);
  const post = (m: TunWorkerMessage) => parentPort!.postMessage(m);

  let seenCommands = 0;
  const applyCommands = () => {
    seenCommands = Atomics.load(ctl, CTL_COMMAND_SEQ);
    for (let m = receiveMessageOnPort(data.commands); m; m = receiveMessageOnPort(data.commands)) {
      const cmd = m.message as TunWorkerCommand;
      if (!table) continue;
      if (cmd.type === 'nat-insert') table.insert(cmd.natPort, cmd.client, cmd.clientPort, cmd.original, cmd.originalPort);
      else table.remove(cmd.natPort);
    }
  };

  const toMain = (n: number) => {
    const pushed = ring.push(buf, n);
    // Back-pressure: when the main thread has not consumed enough, the packet is
    // dropped like a full device queue would, instead of queueing without bound.
    if (pushed === PUSH_DROPPED) { stats[STAT_DROPPED_RING_FULL]!++; return; }
    stats[STAT_TO_MAIN]!++;
    if (pushed === PUSH_NOTIFY) {
      stats[STAT_NOTIFICATIONS]!++;
      post({ type: 'packets' });
    }
  };

  for (;;) {
    if (Atomics.load(ctl, CTL_STOP) !== 0) break;
    if (Atomics.load(ctl, CTL_COMMAND_SEQ) !== seenCommands) applyCommands();
    const n = c.read(data.fd, buf, buf.length);
    if (n > 0) {
      stats[STAT_READ_PACKETS]!++;
      stats[STAT_READ_BYTES]! += n;
      let verdict = table ? translateTcpPacket(table, buf, 0, n) : 1;
      if (verdict !== NAT_FORWARD && verdict !== NAT_DROP && table && Atomics.load(ctl, CTL_COMMAND_SEQ) !== seenCommands) {
        // A command posted after this iteration's check may be for this very packet
        // (the main thread inserts a flow, then writes the SYN whose answer this is).
        applyCommands();
        verdict = translateTcpPacket(table, buf, 0, n);
      }
      if (verdict === NAT_FORWARD) {
        if (c.write(data.fd, buf, n) < 0) stats[STAT_WRITE_ERRORS]!++;
        else stats[STAT_FAST_FORWARDED]!++;
      } else if (verdict === NAT_DROP) {
        stats[STAT_FAST_DROPPED]!++;
      } else {
        toMain(n);
      }
      continue;
    }
    const err = n < 0 ? c.errno() : 0;
    if (err === EINTR) continue;
    if (err !== EAGAIN) {
      post({ type: 'fatal', message: `reading the TUN device failed: ${n === 0 ? 'end of file' : c.strerror(err)}` });
      break;
    }
    stats[STAT_POLL_WAITS]!++;
    if (c.poll(pollFds, 2, -1) > 0 && (pollView.getInt16(14, true) & POLLIN)) c.read(data.wakeFd, eventfdValue, 8);
  }
}

try {
  run(workerData as TunWorkerData);
} catch (e) {
  parentPort!.postMessage({ type: 'fatal', message: `TUN reader stopped: ${(e as Error).stack ?? String(e)}` } satisfies TunWorkerMessage);
}
