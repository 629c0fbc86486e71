// Plain JSON requests to the API server. The typed client deserializes into
// its model classes, which drops fields it does not know and turns
// timestamps into Dates; a pod template that must be restored byte for byte
// (intercept/leave) is therefore read and written as the server's own JSON.
import * as http from 'node:http';
import * as https from 'node:https';
import type { ClusterAccess } from './portForward';

/** An API error in the shape errorCode()/errorSummary() read (`code`, `body`). */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  constructor(readonly code: number, readonly body: string, message: string) {
    super(message);
  }
}

export const JSON_PATCH = 'application/json-patch+json';
export const MERGE_PATCH = 'application/merge-patch+json';

export interface KubeJson {
  get<T = unknown>(path: string): Promise<T>;
  request<T = unknown>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown, contentType?: string): Promise<T>;
}

export function kubeJson(access: () => ClusterAccess | Promise<ClusterAccess>, timeoutMs = 30_000): KubeJson {
  const request = async <T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> => {
    const a = await access();
    const base = new URL(a.server);
    const url = new URL(base.pathname.replace(/\/+$/, '') + path, base);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { Accept: 'application/json', ...a.headers };
    if (payload) { headers['Content-Type'] = contentType; headers['Content-Length'] = String(payload.length); }
    if (a.bearerToken) headers.Authorization = `Bearer ${a.bearerToken}`;
    else if (a.basicAuth) headers.Authorization = `Basic ${Buffer.from(`${a.basicAuth.username}:${a.basicAuth.password}`).toString('base64')}`;
    const secure = url.protocol === 'https:';
    const options: https.RequestOptions = {
      method, headers, timeout: timeoutMs,
      ...(secure ? { ca: a.caPem, cert: a.clientCertPem, key: a.clientKeyPem, rejectUnauthorized: !a.insecureSkipTlsVerify, servername: a.tlsServerName } : {}),
    };
    return new Promise<T>((resolve, reject) => {
      const req = (secure ? https : http).request(url, options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status < 200 || status >= 300) {
            let message = text.slice(0, 500);
            try { message = (JSON.parse(text) as { message?: string }).message ?? message; } catch { /* not a Status */ }
            reject(new KubeApiError(status, text, `${method} ${path}: HTTP ${status}: ${message}`));
            return;
          }
          try { resolve((text ? JSON.parse(text) : {}) as T); } catch (e) { reject(new Error(`${method} ${path}: the API server answered something that is not JSON: ${(e as Error).message}`)); }
        });
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer from the API server within ${timeoutMs / 1000}s`)));
      req.on('error', reject);
      req.end(payload);
    });
  };
  return {
    get: (path) => request('GET', path),
    request,
  };
}

/** A JSON Pointer segment (RFC 6901): `~` → `~0`, `/` → `~1`. */
export function pointerSegment(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}
