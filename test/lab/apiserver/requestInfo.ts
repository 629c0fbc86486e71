// What a request URL addresses, as the real server's RequestInfoFactory
// parses it: /api/v1/namespaces/N/pods/P/exec → group "", version v1,
// namespace N, resource pods, name P, subresource exec; and the verb.
export interface ResourceRequest {
  kind: 'resource';
  group: string;
  version: string;
  namespace?: string;
  resource: string;
  name?: string;
  subresource?: string;
  verb: string;
}

export interface NonResourceRequest { kind: 'nonresource'; path: string; verb: string }

export type RequestInfo = ResourceRequest | NonResourceRequest;

export function parseRequestInfo(method: string, pathname: string, query: URLSearchParams): RequestInfo {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const lower = method.toLowerCase();
  let rest: string[];
  let group: string;
  let version: string;
  if (parts[0] === 'api' && parts.length >= 3) {
    group = '';
    version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  } else {
    return { kind: 'nonresource', path: pathname, verb: lower };
  }
  let watchPath = false;
  if (rest[0] === 'watch') { watchPath = true; rest = rest.slice(1); }
  let namespace: string | undefined;
  // /namespaces/N/status and /finalize address the namespace itself.
  if (rest[0] === 'namespaces' && rest.length >= 3 && rest[2] !== 'status' && rest[2] !== 'finalize') {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource, name, subresource] = rest as [string, string?, string?];
  let verb: string;
  const watch = watchPath || query.get('watch') === 'true' || query.get('watch') === '1';
  switch (method) {
    case 'GET': case 'HEAD': verb = name ? (watch ? 'watch' : 'get') : watch ? 'watch' : 'list'; break;
    case 'POST': verb = 'create'; break;
    case 'PUT': verb = 'update'; break;
    case 'PATCH': verb = 'patch'; break;
    case 'DELETE': verb = name ? 'delete' : 'deletecollection'; break;
    default: verb = lower;
  }
  // Streaming subresources are authorized as create even over a GET (WebSocket) upgrade.
  if (subresource === 'exec' || subresource === 'portforward' || subresource === 'attach') verb = 'create';
  return { kind: 'resource', group, version, ...(namespace !== undefined ? { namespace } : {}), resource, ...(name ? { name } : {}), ...(subresource ? { subresource } : {}), verb };
}
