// A watch as the real server streams it: newline-delimited JSON events
// `{type, object}` starting after the requested resourceVersion (or with the
// current state as ADDED events when none is given), filtered by namespace
// and selectors (objects leaving the filter appear DELETED, entering it
// ADDED), ending after timeoutSeconds, with a 410 Expired ERROR event when
// the resourceVersion is older than the history.
import type { ServerResponse } from 'node:http';
import type { KubeObject } from './objects';
import { ResourceVersionTooOld, type ObjectStore } from './objectStore';
import type { ResourceType } from './resources';

export interface WatchRequest {
  resource: ResourceType;
  namespace?: string;
  matches: (o: KubeObject) => boolean;
  resourceVersion?: string;
  timeoutSeconds?: number;
  /** Turns an object into what is sent (the object, or a one-row Table). */
  transform: (o: KubeObject, first: boolean) => unknown;
}

export function serveWatch(store: ObjectStore, res: ServerResponse, w: WatchRequest): void {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();
  let first = true;
  const send = (type: string, o: KubeObject) => {
    res.write(`${JSON.stringify({ type, object: w.transform(o, first) })}\n`);
    first = false;
  };
  const inScope = (o: KubeObject | undefined): boolean => !!o && (!w.namespace || o.metadata.namespace === w.namespace) && w.matches(o);
  const rvText = w.resourceVersion ?? '';
  let from: number | undefined;
  if (rvText === '' || rvText === '0') {
    for (const o of store.list(w.resource, w.namespace)) if (w.matches(o)) send('ADDED', o);
    from = undefined;
  } else {
    from = Number(rvText);
    if (!Number.isFinite(from)) {
      res.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `invalid resource version "${rvText}"`, reason: 'BadRequest', code: 400 } })}\n`);
      return;
    }
  }
  let unsubscribe: () => void = () => undefined;
  try {
    unsubscribe = store.subscribe(from, (e) => {
      if (e.resource !== w.resource || res.writableEnded) return;
      const now = inScope(e.object);
      const before = e.type === 'MODIFIED' ? inScope(e.old) : now;
      if (e.type === 'MODIFIED' && now !== before) send(now ? 'ADDED' : 'DELETED', e.object);
      else if (now) send(e.type, e.object);
    });
  } catch (err) {
    if (!(err instanceof ResourceVersionTooOld)) throw err;
    res.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: err.message, reason: 'Expired', code: 410 } })}\n`);
    return;
  }
  const timeout = setTimeout(() => res.end(), (w.timeoutSeconds ?? 1800) * 1000);
  timeout.unref();
  res.on('close', () => { clearTimeout(timeout); unsubscribe(); });
}
