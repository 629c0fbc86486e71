// What the main thread and the TUN reader worker share: the layout of the
// control block and of the packet ring, and the messages in each direction.
// Types and constants only, so both bundles can import it.
import type { MessagePort } from 'node:worker_threads';

/** Int32 indexes into the control block (a SharedArrayBuffer). */
export const CTL_STOP = 0;
/** Bumped by the main thread after posting a command, so a busy worker notices without a syscall. */
export const CTL_COMMAND_SEQ = 1;
/** Bytes of the ring published by the worker and not yet consumed by the main thread. */
export const CTL_RING_USED = 2;
/** 1 while the main thread has drained the ring and waits for a message; the worker clears it when it posts one. */
export const CTL_NOTIFY_ARMED = 3;
export const CONTROL_INT32S = 8;

/** Float64 counters (a second SharedArrayBuffer); written by the worker only. */
export const STAT_READ_PACKETS = 0;
export const STAT_READ_BYTES = 1;
export const STAT_FAST_FORWARDED = 2;
export const STAT_TO_MAIN = 3;
/** Packets for the main thread dropped because the ring was full (back-pressure). */
export const STAT_DROPPED_RING_FULL = 4;
export const STAT_FAST_DROPPED = 5;
export const STAT_WRITE_ERRORS = 6;
export const STAT_POLL_WAITS = 7;
export const STAT_NOTIFICATIONS = 8;
export const STAT_COUNT = 9;

/** Per family: where the TCP NAT's kernel side lives (bytes of addresses). */
export interface FastPathFamily {
  tunIp: Uint8Array;
  fakeIp: Uint8Array;
  listenPort: number;
}

export interface TunWorkerData {
  fd: number;
  wakeFd: number;
  control: SharedArrayBuffer;
  stats: SharedArrayBuffer;
  ring: SharedArrayBuffer;
  /** Largest packet the device can hand us (its MTU). */
  maxPacket: number;
  /** null: every packet goes to the main thread (plain device reader). */
  fastPath: { v4: FastPathFamily | null; v6: FastPathFamily | null } | null;
  commands: MessagePort;
}

/** Main thread -> worker, through `commands`. */
export type TunWorkerCommand =
  | { type: 'nat-insert'; natPort: number; client: Uint8Array; clientPort: number; original: Uint8Array; originalPort: number }
  | { type: 'nat-remove'; natPort: number };

/** Worker -> main thread: "the ring has packets" (at most one outstanding), or the end. */
export type TunWorkerMessage =
  | { type: 'packets' }
  | { type: 'fatal'; message: string };
