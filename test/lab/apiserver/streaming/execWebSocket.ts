// Exec over WebSocket (`v5.channel.k8s.io`, `v4.channel.k8s.io`): channel 0
// stdin, 1 stdout, 2 stderr, 3 the final Status (JSON), 4 terminal resize;
// v5 adds 255, with which the client closes stdin. The status goes out only
// after stdout and stderr are flushed.
import type WebSocket from 'ws';
import type { ExecRequest, PodRuntime } from '../../contracts';
import { execStatus } from './execStatus';

export async function serveExecWebSocket(ws: WebSocket, runtime: PodRuntime, req: ExecRequest, streams: { stdout: boolean; stderr: boolean }): Promise<void> {
  const v5 = ws.protocol === 'v5.channel.k8s.io';
  const send = (ch: number, data: Buffer | string) => {
    if (ws.readyState !== ws.OPEN) return;
    const payload = typeof data === 'string' ? Buffer.from(data) : data;
    const msg = Buffer.allocUnsafe(payload.length + 1);
    msg[0] = ch;
    payload.copy(msg, 1);
    ws.send(msg);
  };
  let proc;
  try {
    proc = await runtime.exec(req);
  } catch (err) {
    send(3, JSON.stringify({ metadata: {}, status: 'Failure', message: (err as Error).message, reason: 'InternalError', code: 500 }));
    ws.close(1000);
    return;
  }
  const p = proc;
  ws.on('message', (data: Buffer) => {
    if (data.length === 0) return;
    const ch = data[0]!;
    const body = data.subarray(1);
    if (ch === 0 && p.stdin) p.stdin.write(body);
    else if (ch === 4 && p.resize) {
      try { const s = JSON.parse(body.toString()) as { Width: number; Height: number }; p.resize(s.Width, s.Height); } catch { /* ignore a bad resize */ }
    } else if (ch === 255 && v5 && body[0] === 0) p.stdin?.end();
  });
  ws.on('close', () => { p.stdin?.destroy(); p.kill(); });
  const drained = (s: NodeJS.ReadableStream | null, ch: number, wanted: boolean) => new Promise<void>((resolve) => {
    if (!s) { resolve(); return; }
    s.on('data', (c: Buffer) => { if (wanted) send(ch, c); });
    s.on('end', resolve);
    s.on('error', () => resolve());
    s.on('close', resolve);
  });
  const [exit] = await Promise.all([p.exited, drained(p.stdout, 1, streams.stdout), drained(p.stderr, req.tty ? 1 : 2, streams.stderr)]);
  send(3, JSON.stringify(execStatus(req.command, exit)));
  if (ws.readyState === ws.OPEN) ws.close(1000);
}
