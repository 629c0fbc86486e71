// Injecting the traffic agent into a workload's pod template, and taking it
// out again exactly. Pure: takes objects, returns the objects to write.
//
// The Service's target port must land on the agent:
// - a symbolic target port (`targetPort: http`) is moved to the agent the way
//   Telepresence does it: the app container's port is renamed (`tm-http`)
//   and the agent declares a port named `http`;
// - a numeric target port is redirected by pointing the Service at the
//   agent's port (recorded, and restored by `leave`).
// The untouched original pod template is kept in an annotation so that
// `leave`/`uninstall` restore it byte for byte.
import type { V1Container, V1Probe, V1PodTemplateSpec, V1Service, V1ServicePort } from '@kubernetes/client-node';
import { AGENT_LISTEN_NONE } from '../relay/relayConfig';

export const ORIGINAL_TEMPLATE_ANNOTATION = 'telepresence-vscode.dev/original-pod-template';
export const AGENT_ANNOTATION = 'telepresence-vscode.dev/agent';
export const ORIGINAL_TARGET_PORTS_ANNOTATION = 'telepresence-vscode.dev/original-target-ports';
export const AGENT_CONTAINER = 'tpv-agent';
export const AGENT_SCRIPT_DIR = '/opt/tpv-agent';
export const AGENT_CONFIGMAP = 'tpv-agent';
/** The Secret (in the workload's namespace) holding the session secret agents accept. */
export const AGENT_SECRET = 'tpv-agent';

export interface AgentSettings {
  image: string;
  /** The agent's tunnel port (the daemon port-forwards to it). */
  tunnelPort: number;
  /** First port the agent listens on for intercepted traffic; one per intercepted service port. */
  firstInterceptPort: number;
  /** The agent's HTTP health port (its readiness probe). Default: tunnelPort + 1. */
  healthPort?: number;
  secretEnv: string;
  secretName: string;
}

export interface AgentPorts { intercept: number; tunnel: number; health: number }

/**
 * The agent shares the pod's network namespace, so its ports must not be
 * any port a container of the template declares (or probes). Each preferred
 * port moves up to the next free one.
 */
export function chooseAgentPorts(template: V1PodTemplateSpec, preferred: AgentPorts): AgentPorts {
  const taken = new Set<number>();
  const spec = template.spec;
  for (const c of [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])]) {
    for (const p of c.ports ?? []) taken.add(p.containerPort);
    for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
      const port = probe?.httpGet?.port ?? probe?.tcpSocket?.port ?? probe?.grpc?.port;
      if (typeof port === 'number') taken.add(port);
    }
  }
  const pick = (want: number): number => {
    let p = want;
    while (taken.has(p)) p++;
    if (p > 65535) throw new Error(`no free port for the traffic agent at or above ${want}`);
    taken.add(p);
    return p;
  };
  return { intercept: pick(preferred.intercept), tunnel: pick(preferred.tunnel), health: pick(preferred.health) };
}

export interface ResolvedServicePort {
  servicePort: V1ServicePort;
  container: V1Container;
  /** The port the app listens on inside the pod. */
  containerPort: number;
  /** The name when the service targets the port by name. */
  targetName: string | undefined;
}

/** Finds the service port for `remote` (number or name) and the container behind it. */
export function resolveServicePort(service: V1Service, template: V1PodTemplateSpec, remote: number | string): ResolvedServicePort {
  const svcName = `${service.metadata?.namespace}/${service.metadata?.name}`;
  const ports = service.spec?.ports ?? [];
  const sp = ports.find((p) => (typeof remote === 'number' ? p.port === remote : p.name === remote));
  if (!sp) {
    const have = ports.map((p) => (p.name ? `${p.name} (${p.port})` : String(p.port))).join(', ') || 'none';
    throw new Error(`service ${svcName} has no port ${remote}; its ports are: ${have}`);
  }
  const target = sp.targetPort ?? sp.port;
  const containers = template.spec?.containers ?? [];
  if (typeof target === 'string' && !/^\d+$/.test(target)) {
    for (const c of containers) {
      const cp = c.ports?.find((p) => p.name === target);
      if (cp) return { servicePort: sp, container: c, containerPort: cp.containerPort, targetName: target };
    }
    throw new Error(`service ${svcName} targets port "${target}", but no container of the workload declares a port with that name`);
  }
  const num = Number(target);
  const declared = containers.find((c) => c.ports?.some((p) => p.containerPort === num));
  const container = declared ?? containers[0];
  if (!container) throw new Error(`the workload behind ${svcName} has no containers`);
  return { servicePort: sp, container, containerPort: num, targetName: undefined };
}

export interface Injection {
  /** The pod template with the agent. */
  template: V1PodTemplateSpec;
  /** Annotations to set on the workload. */
  annotations: Record<string, string>;
  /** Service port changes for numeric targets (empty for symbolic ones). */
  servicePatch: Array<{ index: number; targetPort: number }>;
  /** Port the agent listens on for this intercept. */
  agentPort: number;
}

/** The renamed app port, as Telepresence names it (port names have at most 15 characters). */
export function renamedPortName(name: string): string {
  return `tm-${name}`.slice(0, 15);
}

export function injectAgent(template: V1PodTemplateSpec, service: V1Service, resolved: ResolvedServicePort, s: AgentSettings): Injection {
  const already = template.metadata?.annotations?.[AGENT_ANNOTATION] !== undefined || template.spec?.containers.some((c) => c.name === AGENT_CONTAINER);
  if (already) throw new Error('the workload already carries a traffic agent; leave the existing intercept first (tpv leave)');
  const original = JSON.stringify(template);
  const next: V1PodTemplateSpec = JSON.parse(original);
  const spec = next.spec!;
  const agentPort = s.firstInterceptPort;
  const portName = resolved.targetName;
  if (portName) {
    const app = spec.containers.find((c) => c.name === resolved.container.name)!;
    const renamed = renamedPortName(portName);
    for (const p of app.ports ?? []) if (p.name === portName) p.name = renamed;
    // The app's own probes named that port; they must keep probing the app, not the agent.
    for (const probe of [app.readinessProbe, app.livenessProbe, app.startupProbe]) renameProbePort(probe, portName, renamed);
  }
  const agent = agentContainer(s, `${agentPort}:${resolved.containerPort}`, [{ name: portName ?? `tpv-${agentPort}`.slice(0, 15), containerPort: agentPort }]);
  spec.containers = [...spec.containers, agent];
  spec.volumes = [...(spec.volumes ?? []), { name: 'tpv-agent-script', configMap: { name: AGENT_CONFIGMAP } }];
  next.metadata = { ...(next.metadata ?? {}), annotations: { ...(next.metadata?.annotations ?? {}), [AGENT_ANNOTATION]: String(agentPort) } };
  const servicePatch: Injection['servicePatch'] = [];
  if (!portName) {
    const index = (service.spec?.ports ?? []).indexOf(resolved.servicePort);
    servicePatch.push({ index, targetPort: agentPort });
  }
  return { template: next, annotations: { [ORIGINAL_TEMPLATE_ANNOTATION]: original }, servicePatch, agentPort };
}

/** The agent container: the relay script in agent mode, with the given intercept forwards (`none` for a --proxy-via agent). */
function agentContainer(s: AgentSettings, listen: string, interceptPorts: Array<{ name: string; containerPort: number }>): V1Container {
  const healthPort = s.healthPort ?? s.tunnelPort + 1;
  return {
    name: AGENT_CONTAINER,
    image: s.image,
    command: ['node', `${AGENT_SCRIPT_DIR}/relay.js`],
    env: [
      { name: 'TPV_RELAY_MODE', value: 'agent' },
      { name: 'TPV_RELAY_PORT', value: String(s.tunnelPort) },
      { name: 'TPV_RELAY_HEALTH_PORT', value: String(healthPort) },
      { name: 'TPV_AGENT_LISTEN', value: listen },
      { name: s.secretEnv, valueFrom: { secretKeyRef: { name: s.secretName, key: 'secret' } } },
      { name: 'TPV_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'TPV_POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'TPV_POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    ],
    ports: [
      ...interceptPorts,
      { name: 'tpv-tunnel', containerPort: s.tunnelPort },
      { name: 'tpv-health', containerPort: healthPort },
    ],
    volumeMounts: [{ name: 'tpv-agent-script', mountPath: AGENT_SCRIPT_DIR, readOnly: true }],
    // Probing the health port, not the intercept port: a probe there would be handed to the workstation.
    readinessProbe: { httpGet: { path: '/healthz', port: healthPort }, periodSeconds: 1 },
  };
}

/** AGENT_ANNOTATION's value on the pod template of an agent that only dials (--proxy-via). */
export const PROXY_VIA_AGENT = 'proxy-via';

/**
 * The agent for `--proxy-via CIDR=WORKLOAD`: it listens on no intercept port
 * and the Service stays untouched; the daemon's flows to CIDR are dialled from
 * inside the workload's pod, over the agent's tunnel.
 */
export function injectProxyAgent(template: V1PodTemplateSpec, s: AgentSettings): Omit<Injection, 'agentPort'> {
  const already = template.metadata?.annotations?.[AGENT_ANNOTATION] !== undefined || template.spec?.containers.some((c) => c.name === AGENT_CONTAINER);
  if (already) throw new Error('the workload already carries a traffic agent; leave the existing intercept first (tpv leave)');
  const original = JSON.stringify(template);
  const next: V1PodTemplateSpec = JSON.parse(original);
  const spec = next.spec!;
  spec.containers = [...spec.containers, agentContainer(s, AGENT_LISTEN_NONE, [])];
  spec.volumes = [...(spec.volumes ?? []), { name: 'tpv-agent-script', configMap: { name: AGENT_CONFIGMAP } }];
  next.metadata = { ...(next.metadata ?? {}), annotations: { ...(next.metadata?.annotations ?? {}), [AGENT_ANNOTATION]: PROXY_VIA_AGENT } };
  return { template: next, annotations: { [ORIGINAL_TEMPLATE_ANNOTATION]: original }, servicePatch: [] };
}

function renameProbePort(probe: V1Probe | undefined, from: string, to: string): void {
  if (probe?.httpGet?.port === from) probe.httpGet.port = to;
  if (probe?.tcpSocket?.port === from) probe.tcpSocket.port = to;
}

/** The pod template to restore, from the workload's annotations; undefined when nothing was injected. */
export function originalTemplate(workloadAnnotations: Record<string, string> | undefined): V1PodTemplateSpec | undefined {
  const text = workloadAnnotations?.[ORIGINAL_TEMPLATE_ANNOTATION];
  return text === undefined ? undefined : (JSON.parse(text) as V1PodTemplateSpec);
}

/** Service ports with numeric targets pointed at the agent, and the annotation that restores them. */
export function redirectServicePorts(service: V1Service, patch: Injection['servicePatch']): { ports: V1ServicePort[]; annotation: string } {
  const ports: V1ServicePort[] = JSON.parse(JSON.stringify(service.spec?.ports ?? []));
  const saved: Record<string, number | string> = {};
  for (const { index, targetPort } of patch) {
    const p = ports[index]!;
    saved[String(index)] = p.targetPort ?? p.port;
    p.targetPort = targetPort;
  }
  return { ports, annotation: JSON.stringify(saved) };
}

export function restoreServicePorts(service: V1Service): V1ServicePort[] | undefined {
  const text = service.metadata?.annotations?.[ORIGINAL_TARGET_PORTS_ANNOTATION];
  if (text === undefined) return undefined;
  const saved = JSON.parse(text) as Record<string, number | string>;
  const ports: V1ServicePort[] = JSON.parse(JSON.stringify(service.spec?.ports ?? []));
  for (const [i, target] of Object.entries(saved)) if (ports[Number(i)]) ports[Number(i)]!.targetPort = target;
  return ports;
}
