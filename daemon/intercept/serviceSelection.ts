// Which Service an intercept redirects: the one whose selector picks the
// workload's pods and that has the requested port. Pure, so every error a
// user can meet here is unit tested with its exact words.
import type { V1Service, V1ServicePort } from '@kubernetes/client-node';

export interface WorkloadDescription {
  kind: string;
  namespace: string;
  name: string;
  /** Labels of the pod template. */
  podLabels: Record<string, string>;
}

/** Services whose (non-empty) selector matches the pod labels. */
export function selectingServices(services: V1Service[], podLabels: Record<string, string>): V1Service[] {
  return services.filter((s) => {
    const sel = s.spec?.selector;
    if (!sel || Object.keys(sel).length === 0) return false;
    return Object.entries(sel).every(([k, v]) => podLabels[k] === v);
  });
}

function portText(p: V1ServicePort): string {
  const proto = p.protocol && p.protocol !== 'TCP' ? `/${p.protocol}` : '';
  return p.name ? `${p.name} (${p.port}${proto})` : `${p.port}${proto}`;
}

function labelsText(labels: Record<string, string>): string {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',') || '(none)';
}

/**
 * The service and port to redirect for `remote` (a port number or name).
 * With several matching services the first by name wins (deterministic).
 */
export function chooseService(all: V1Service[], w: WorkloadDescription, remote: number | string): { service: V1Service; port: V1ServicePort } {
  const what = `${w.kind.toLowerCase()} ${w.name}`;
  const candidates = selectingServices(all, w.podLabels).sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  if (candidates.length === 0) {
    throw new Error(`no service selects ${what}: its pods are labelled ${labelsText(w.podLabels)}, and no Service in namespace "${w.namespace}" has a selector matching them. ` +
      `Intercepting redirects a Service's traffic; create one first (e.g. \`kubectl -n ${w.namespace} expose ${w.kind.toLowerCase()} ${w.name} --port 80 --target-port 8080\`).`);
  }
  for (const service of candidates) {
    const port = (service.spec?.ports ?? []).find((p) => (typeof remote === 'number' ? p.port === remote : p.name === remote));
    if (!port) continue;
    if ((port.protocol ?? 'TCP') !== 'TCP') {
      throw new Error(`port ${remote} of service ${w.namespace}/${service.metadata?.name} is ${port.protocol}; only TCP ports can be intercepted`);
    }
    return { service, port };
  }
  const lists = candidates.map((s) => `${s.metadata?.name}: ${(s.spec?.ports ?? []).map(portText).join(', ') || 'none'}`);
  const byName = typeof remote === 'string' ? ' named' : '';
  throw new Error(candidates.length === 1
    ? `service ${w.namespace}/${candidates[0]!.metadata?.name} (in front of ${what}) has no port${byName} ${remote}; its ports are: ${lists[0]!.slice(lists[0]!.indexOf(': ') + 2)}`
    : `no service in front of ${what} has a port${byName} ${remote}; their ports are: ${lists.join('; ')}`);
}
