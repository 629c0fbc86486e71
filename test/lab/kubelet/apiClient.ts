// A minimal Kubernetes API client over HTTPS, as the lab's node components
// use it: JSON requests, merge patches and newline-delimited watch streams.
// It is deliberately a plain HTTP client (no client library) so the lab's
// kubelet talks to the API server the way a real kubelet does, over the wire.
import * as https from 'node:https';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

export interface KubeCredentials {
  server: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  token?: string;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string; namespace?: string; uid?: string; resourceVersion?: string; deletionTimestamp?: string | Date;
    deletionGracePeriodSeconds?: number; labels?: Record<string, string>; annotations?: Record<string, string>;
  };
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/** A non-2xx answer, with the Status object's reason and message when the server sent one. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly reason: string, message: string) {
    super(message);
  }
}

interface KubeconfigFile {
  'current-context'?: string;
  contexts?: Array<{ name: string; context: { cluster: string; user: string } }>;
  clusters?: Array<{ name: string; cluster: { server: string; 'certificate-authority-data'?: string; 'certificate-authority'?: string } }>;
  users?: Array<{ name: string; user: { 'client-certificate-data'?: string; 'client-key-data'?: string; 'client-certificate'?: string; 'client-key'?: string; token?: string } }>;
}

/** Credentials of the kubeconfig's current context (certificate or token users; exec plugins are for people, not the node). */
export function credentialsFromKubeconfig(path: string, serverOverride?: string): KubeCredentials {
  const cfg = parseYaml(readFileSync(path, 'utf8')) as KubeconfigFile;
  const ctx = cfg.contexts?.find((c) => c.name === cfg['current-context']) ?? cfg.contexts?.[0];
  if (!ctx) throw new Error(`${path} has no context: the API server must write a kubeconfig with one`);
  const cluster = cfg.clusters?.find((c) => c.name === ctx.context.cluster)?.cluster;
  if (!cluster) throw new Error(`${path}: context ${ctx.name} names a missing cluster`);
  // Prefer the context's user; fall back to any certificate user (the node's identity).
  const users = cfg.users ?? [];
  const user = [users.find((u) => u.name === ctx.context.user), ...users]
    .find((u) => u && (u.user['client-certificate-data'] || u.user['client-certificate'] || u.user.token))?.user;
  const fromData = (b64: string | undefined, file: string | undefined): Buffer | undefined =>
    b64 ? Buffer.from(b64, 'base64') : file ? readFileSync(file) : undefined;
  return {
    server: serverOverride ?? cluster.server,
    ca: fromData(cluster['certificate-authority-data'], cluster['certificate-authority']),
    cert: fromData(user?.['client-certificate-data'], user?.['client-certificate']),
    key: fromData(user?.['client-key-data'], user?.['client-key']),
    token: user?.token,
  };
}

export class ApiClient {
  private readonly agent: https.Agent;
  private readonly base: URL;

  constructor(private readonly creds: KubeCredentials) {
    this.base = new URL(creds.server);
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 16, ca: creds.ca, cert: creds.cert, key: creds.key });
  }

  private options(method: string, path: string, headers: Record<string, string>): https.RequestOptions {
    return {
      method,
      host: this.base.hostname,
      port: this.base.port || 443,
      path,
      agent: this.agent,
      headers: { Accept: 'application/json', 'User-Agent': 'tpv-lab-kubelet', ...(this.creds.token ? { Authorization: `Bearer ${this.creds.token}` } : {}), ...headers },
    };
  }

  async request<T>(method: string, path: string, body?: unknown, contentType = 'application/json', timeoutMs = 15_000): Promise<T> {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = data ? { 'Content-Type': contentType, 'Content-Length': String(data.length) } : {};
    return new Promise<T>((resolve, reject) => {
      const req = https.request(this.options(method, path, headers), (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            try { resolve((text ? JSON.parse(text) : {}) as T); } catch { reject(new ApiError(status, 'BadJSON', `${method} ${path}: the API server answered ${status} with non-JSON: ${text.slice(0, 200)}`)); }
            return;
          }
          let reason = '';
          let message = text.slice(0, 500);
          try {
            const st = JSON.parse(text) as { reason?: string; message?: string };
            reason = st.reason ?? '';
            message = st.message ?? message;
          } catch { /* not a Status */ }
          reject(new ApiError(status, reason, `${method} ${path}: ${status} ${message}`));
        });
      });
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(data);
    });
  }

  get<T>(path: string): Promise<T> { return this.request<T>('GET', path); }
  create<T>(path: string, body: unknown): Promise<T> { return this.request<T>('POST', path, body); }
  mergePatch<T>(path: string, body: unknown): Promise<T> { return this.request<T>('PATCH', path, body, 'application/merge-patch+json'); }
  delete<T>(path: string, body?: unknown): Promise<T> { return this.request<T>('DELETE', path, body); }

  /**
   * Streams watch events of `path` (which carries `watch=1` and a resourceVersion)
   * until the server ends the stream, the signal aborts, or the connection fails.
   */
  watch<T>(path: string, onEvent: (e: WatchEvent<T>) => void, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) { resolve(); return; }
      const req = https.request(this.options('GET', path, {}), (res) => {
        if ((res.statusCode ?? 0) >= 300) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => reject(new ApiError(res.statusCode ?? 0, '', `watch ${path}: ${res.statusCode} ${Buffer.concat(chunks).toString('utf8').slice(0, 300)}`)));
          return;
        }
        let pending = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          pending += chunk;
          let nl: number;
          while ((nl = pending.indexOf('\n')) >= 0) {
            const line = pending.slice(0, nl).trim();
            pending = pending.slice(nl + 1);
            if (!line) continue;
            try { onEvent(JSON.parse(line) as WatchEvent<T>); } catch (err) { req.destroy(err as Error); return; }
          }
        });
        res.on('end', () => resolve());
        res.on('error', (err) => (signal.aborted ? resolve() : reject(err)));
      });
      const abort = () => { req.destroy(); resolve(); };
      signal.addEventListener('abort', abort, { once: true });
      req.on('error', (err) => (signal.aborted ? resolve() : reject(err)));
      req.on('close', () => signal.removeEventListener('abort', abort));
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ApiError && err.status === 404;
}

export function isConflict(err: unknown): boolean {
  return err instanceof ApiError && err.status === 409;
}
