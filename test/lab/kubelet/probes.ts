// Readiness and liveness probes, run from the node like a kubelet's prober:
// httpGet (2xx/3xx is success), tcpSocket (connect), exec (exit 0).
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import type { V1Container, V1Probe } from '@kubernetes/client-node';

export type ProbeExec = (command: string[], timeoutMs: number) => Promise<number | null>;

/** Resolves a probe's port (number or the name of one of the container's ports). */
export function probePort(port: number | string | undefined, container: V1Container): number {
  if (typeof port === 'number') return port;
  if (port === undefined) throw new Error('probe has no port');
  if (/^\d+$/.test(port)) return Number(port);
  const named = container.ports?.find((p) => p.name === port);
  if (!named) throw new Error(`probe port "${port}" is not a named port of container ${container.name}`);
  return named.containerPort;
}

export async function runProbe(probe: V1Probe, container: V1Container, podIP: string, exec: ProbeExec): Promise<boolean> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  try {
    if (probe.httpGet) {
      const g = probe.httpGet;
      const port = probePort(g.port as number | string, container);
      const mod = (g.scheme ?? 'HTTP').toUpperCase() === 'HTTPS' ? https : http;
      const headers: Record<string, string> = { 'User-Agent': 'kube-probe/1.32' };
      for (const h of g.httpHeaders ?? []) headers[h.name] = h.value;
      return await new Promise<boolean>((resolve) => {
        const req = mod.get({ host: g.host || podIP, port, path: g.path ?? '/', headers, timeout: timeoutMs, rejectUnauthorized: false, agent: false }, (res) => {
          res.resume();
          const code = res.statusCode ?? 0;
          resolve(code >= 200 && code < 400);
        });
        req.on('timeout', () => req.destroy());
        req.on('error', () => resolve(false));
      });
    }
    if (probe.tcpSocket) {
      const port = probePort(probe.tcpSocket.port as number | string, container);
      return await new Promise<boolean>((resolve) => {
        const s = net.connect({ host: probe.tcpSocket!.host || podIP, port, timeout: timeoutMs });
        s.once('connect', () => { s.destroy(); resolve(true); });
        s.once('timeout', () => { s.destroy(); resolve(false); });
        s.once('error', () => resolve(false));
      });
    }
    if (probe.exec?.command) {
      return (await exec(probe.exec.command, timeoutMs)) === 0;
    }
    if (probe.grpc) return false;
  } catch {
    return false;
  }
  return true;
}
