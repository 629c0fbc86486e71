// Kubernetes has no API that tells a client the service CIDR. Like
// Telepresence, ask the API server to create a Service with an impossible
// ClusterIP (as a dry run) and read the valid range from the refusal.
import type { CoreV1Api } from '@kubernetes/client-node';

/** An address no cluster uses for services (TEST-NET-1, RFC 5737). */
export const PROBE_CLUSTER_IP = '192.0.2.1';

/**
 * Extracts the CIDRs from messages such as
 * `... The range of valid IPs is 10.130.0.0/16` or, on dual-stack clusters,
 * `... The range of valid IPs is 10.96.0.0/12 and fd00::/108`.
 */
export function parseServiceCidrs(message: string): string[] {
  const m = /range of valid IPs is ([0-9a-fA-F.:/, and]+)/.exec(message);
  if (!m) return [];
  return m[1]!
    .split(/,|\band\b/)
    .map((s) => s.trim())
    .filter((s) => /^[0-9a-fA-F.:]+\/\d{1,3}$/.test(s));
}

export async function discoverServiceCidrs(core: CoreV1Api, namespace: string): Promise<string[]> {
  try {
    await core.createNamespacedService({
      namespace,
      dryRun: 'All',
      body: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'tpv-service-cidr-probe' },
        spec: { clusterIP: PROBE_CLUSTER_IP, ports: [{ port: 443 }] },
      },
    });
  } catch (e) {
    const cidrs = parseServiceCidrs(errorBody(e));
    if (cidrs.length > 0) return cidrs;
    throw new Error(`could not learn the cluster's service subnet: ${errorSummary(e)}. Pass it with --service-cidr.`);
  }
  throw new Error('could not learn the cluster\'s service subnet: the API server accepted an impossible ClusterIP. Pass it with --service-cidr.');
}

/** The text of a Kubernetes API error, whichever client shape it arrived in. */
export function errorBody(e: unknown): string {
  const body = (e as { body?: unknown })?.body;
  if (typeof body === 'string') return body;
  if (body && typeof body === 'object') return JSON.stringify(body);
  return e instanceof Error ? e.message : String(e);
}

/** One line for users: the Status message when there is one. */
export function errorSummary(e: unknown): string {
  const body = errorBody(e);
  try {
    const status = JSON.parse(body) as { message?: string };
    if (status.message) return status.message;
  } catch { /* not JSON */ }
  const m = /"message":\s*"((?:[^"\\]|\\.)*)"/.exec(body);
  return m ? JSON.parse(`"${m[1]}"`) : body.slice(0, 500);
}

/** The HTTP status code of a Kubernetes API error, when known. */
export function errorCode(e: unknown): number | undefined {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}
