// Talks to the relay's tunnel port the way an attacker with cluster access
// would, run in the workstation namespace (`node --import tsx tunnelProbe.ts
// JSON`): a port-forward to the relay pod (daemon/cluster/portForward.ts),
// then raw tunnel frames. Prints one JSON line per attempt: the frames the
// relay sent back and whether it closed the connection by itself.
import { KubeConfig } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { openPortForward } from '../../../daemon/cluster/portForward';
import { clusterAccessFromKubeConfig } from '../../../daemon/cluster/portForwardAccess';
import { FrameDecoder } from '../../../daemon/tunnel/frameDecoder';
import {
  FRAME_HEADER_BYTES, FrameType, decodeError, encodeFrame, encodeHeader, encodeOpen, frameTypeName, type FrameTypeValue,
} from '../../../daemon/tunnel/frames';

export type ProbeAttempt =
  | { kind: 'hello'; secret: string; label: string }
  | { kind: 'hello-then-open'; secret: string; label: string }
  | { kind: 'open-before-hello'; label: string }
  | { kind: 'oversize-hello'; label: string }
  | { kind: 'garbage'; label: string };

export interface ProbeTask {
  kubeconfig: string;
  context: string;
  namespace: string;
  pod: string;
  port: number;
  attempts: ProbeAttempt[];
  /** How long to wait for the relay to answer and close. */
  waitMs: number;
}

export interface ProbeOutcome {
  label: string;
  frames: Array<{ type: string; code?: string; message?: string }>;
  /** The relay ended the connection (we never did) within waitMs. */
  closedByRelay: boolean;
  ms: number;
  error?: string;
}

function hello(secret: string): Buffer {
  return encodeFrame(FrameType.HELLO, 0, Buffer.from(JSON.stringify({ min: 1, max: 1, secret, software: 'tpv-reliability-probe/1' }), 'utf8'));
}

function openEcho(): Buffer {
  return encodeFrame(FrameType.OPEN, 1, encodeOpen({ kind: 'tcp', window: 65536, host: 'echo.default.svc.cluster.local', port: 9000 }));
}

async function attempt(task: ProbeTask, access: Awaited<ReturnType<typeof clusterAccessFromKubeConfig>>, a: ProbeAttempt): Promise<ProbeOutcome> {
  const t0 = Date.now();
  const out: ProbeOutcome = { label: a.label, frames: [], closedByRelay: false, ms: 0 };
  const stream = await openPortForward(access, { namespace: task.namespace, pod: task.pod, port: task.port });
  const decoder = new FrameDecoder((type: FrameTypeValue, _id, payload) => {
    const f: ProbeOutcome['frames'][number] = { type: frameTypeName(type) };
    if (type === FrameType.HELLO_REJECT || type === FrameType.GOAWAY || type === FrameType.OPEN_FAIL) {
      try { const e = decodeError(payload); f.code = e.code; f.message = e.message; } catch { f.message = 'undecodable error payload'; }
    }
    out.frames.push(f);
    if (type === FrameType.HELLO_ACK && a.kind === 'hello-then-open') stream.write(openEcho());
  }, 1 << 20);
  await new Promise<void>((resolve) => {
    let weClosed = false;
    const timer = setTimeout(() => { weClosed = true; stream.destroy(); resolve(); }, task.waitMs);
    const closed = () => { clearTimeout(timer); if (!weClosed) out.closedByRelay = true; resolve(); };
    stream.on('data', (d: Buffer) => { try { decoder.push(d); } catch (e) { out.error = (e as Error).message; } });
    stream.once('end', closed);
    stream.once('close', closed);
    stream.on('error', (e: Error) => { out.error ??= e.message; });
    switch (a.kind) {
      case 'hello': stream.write(hello(a.secret)); break;
      case 'hello-then-open': stream.write(hello(a.secret)); break;
      case 'open-before-hello': stream.write(openEcho()); break;
      case 'oversize-hello': {
        // A header announcing 1 MiB of HELLO, past the frame limit: nothing should be buffered for it.
        const h = Buffer.from(encodeHeader(FrameType.HELLO, 0, 0));
        h.writeUInt32BE(1 << 20, FRAME_HEADER_BYTES - 4);
        stream.write(Buffer.concat([h, randomBytes(4096)]));
        break;
      }
      case 'garbage': stream.write(randomBytes(2048)); break;
    }
  });
  out.ms = Date.now() - t0;
  return out;
}

async function main(task: ProbeTask): Promise<ProbeOutcome[]> {
  const kc = new KubeConfig();
  kc.loadFromFile(task.kubeconfig);
  kc.setCurrentContext(task.context);
  const access = await clusterAccessFromKubeConfig(kc);
  const outcomes: ProbeOutcome[] = [];
  for (const a of task.attempts) outcomes.push(await attempt(task, access, a).catch((e: Error) => ({ label: a.label, frames: [], closedByRelay: false, ms: 0, error: `port-forward failed: ${e.message}` })));
  return outcomes;
}

main(JSON.parse(process.argv[2]!) as ProbeTask).then(
  (res) => { process.stdout.write(`${JSON.stringify(res)}\n`); process.exit(0); },
  (e: Error) => { process.stdout.write(`${JSON.stringify({ error: e.stack ?? e.message })}\n`); process.exit(1); },
);
