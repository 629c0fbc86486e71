// The TUN reader thread. It reads packets with non-blocking read(2) into one
// preallocated buffer and, for TCP flows the NAT already knows, rewrites them
// and writes them straight back into the TUN: TCP data never crosses threads.
// Everything else (connection-opening SYNs, UDP, ICMP...) is copied into a
// shared slot and handed to the main thread many packets per message.
//
// It sleeps in poll(2) on the TUN and an eventfd only when the TUN is empty;
// the main thread writes the eventfd to deliver commands or to stop it (a
// thread blocked in read(2) could not be woken by closing the fd).
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { NatTable } from '../stack/natTable';
import { NAT_DROP, NAT_FORWARD, translateTcpPacket } from '../stack/tcpNatRewrite';
import { EAGAIN, EINTR, POLLIN, libc } from './libc';
import {
  CTL_COMMAND_SEQ, CTL_SLOT_STATE, CTL_STOP, STAT_BATCHES, STAT_DROPPED_NO_SLOT, STAT_FAST_DROPPED, STAT_FAST_FORWARDED,
  STAT_POLL_WAITS, STAT_READ_BYTES, STAT_READ_PACKETS, STAT_TO_MAIN, STAT_WRITE_ERRORS,
  type TunWorkerCommand, type TunWorkerData, type TunWorkerMessage,
} from './tunWorkerProtocol';

function run(data: TunWorkerData): void {
  const c = libc();
  const ctl = new Int32Array(data.control);
  const stats = new Float64Array(data.stats);
  const slotBytes = new Uint8Array(data.slots);
  const slotWords = new DataView(data.slots);
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

  // The slot being filled for the main thread: -1 when none.
  let slot = -1, slotPos = 0, slotCount = 0, sinceFirst = 0, nextSlot = 0;
  const flush = () => {
    if (slot < 0) return;
    Atomics.store(ctl, CTL_SLOT_STATE + slot, 1);
    post({ type: 'batch', slot, count: slotCount, bytes: slotPos - slot * data.slotSize });
    stats[STAT_BATCHES]!++;
    slot = -1;
  };
  const toMain = (n: number) => {
    const need = 4 + ((n + 3) & ~3);
    if (slot >= 0 && slotPos + need > (slot + 1) * data.slotSize) flush();
    if (slot < 0) {
      // Back-pressure: when the main thread still holds every slot, the packet is
      // dropped like a full device queue would, instead of queueing without bound.
      for (let i = 0; i < data.slotCount && slot < 0; i++) {
        const s = (nextSlot + i) % data.slotCount;
        if (Atomics.load(ctl, CTL_SLOT_STATE + s) === 0) slot = s;
      }
      if (slot < 0) { stats[STAT_DROPPED_NO_SLOT]!++; return; }
      nextSlot = (slot + 1) % data.slotCount;
      slotPos = slot * data.slotSize; slotCount = 0; sinceFirst = 0;
    }
    slotWords.setUint32(slotPos, n, true);
    slotBytes.set(buf.subarray(0, n), slotPos + 4);
    slotPos += need;
    slotCount++;
    stats[STAT_TO_MAIN]!++;
  };

  for (;;) {
    if (Atomics.load(ctl, CTL_STOP) !== 0) break;
    if (Atomics.load(ctl, CTL_COMMAND_SEQ) !== seenCommands) applyCommands();
    const n = c.read(data.fd, buf, buf.length);
    if (n > 0) {
      stats[STAT_READ_PACKETS]!++;
      stats[STAT_READ_BYTES]! += n;
      const verdict = table ? translateTcpPacket(table, buf, 0, n) : 1;
      if (verdict === NAT_FORWARD) {
        if (c.write(data.fd, buf, n) < 0) stats[STAT_WRITE_ERRORS]!++;
        else stats[STAT_FAST_FORWARDED]!++;
      } else if (verdict === NAT_DROP) {
        stats[STAT_FAST_DROPPED]!++;
      } else {
        toMain(n);
      }
      // Under sustained load the TUN is never empty: hand over partial slots anyway.
      if (slot >= 0 && ++sinceFirst >= data.flushEvery) flush();
      continue;
    }
    const err = n < 0 ? c.errno() : 0;
    if (err === EINTR) continue;
    if (err !== EAGAIN) {
      post({ type: 'fatal', message: `reading the TUN device failed: ${n === 0 ? 'end of file' : c.strerror(err)}` });
      break;
    }
    flush();
    stats[STAT_POLL_WAITS]!++;
    if (c.poll(pollFds, 2, -1) > 0 && (pollView.getInt16(14, true) & POLLIN)) c.read(data.wakeFd, eventfdValue, 8);
  }
  flush();
}

try {
  run(workerData as TunWorkerData);
} catch (e) {
  parentPort!.postMessage({ type: 'fatal', message: `TUN reader stopped: ${(e as Error).stack ?? String(e)}` } satisfies TunWorkerMessage);
}
