// The transport the tunnel supervisor reconnects with: find the relay pod as
// it is now (it may have been rescheduled), then port-forward to its tunnel
// port. Plug into `new TunnelSupervisor({ openTransport: relayTransport(...) })`.
import type { Duplex } from 'node:stream';
import { DEFAULT_RELAY_PORT } from '../relay/relayConstants';
import { openPortForward, type ClusterAccess, type PortForwardOptions } from './portForward';

export interface RelayPodRef {
  namespace: string;
  pod: string;
  /** Tunnel port of the relay container. Default DEFAULT_RELAY_PORT (8022). */
  port?: number;
}

export interface RelayTransportOptions {
  access: ClusterAccess | (() => ClusterAccess | Promise<ClusterAccess>);
  /** Resolves the relay pod to use now (e.g. the Ready pod of the relay Deployment); throws with advice when there is none. */
  findRelayPod: () => Promise<RelayPodRef>;
  portForward?: PortForwardOptions;
  /** Told which pod each attempt uses. */
  onAttempt?: (attempt: number, pod: RelayPodRef) => void;
}

export function relayTransport(opts: RelayTransportOptions): (attempt: number) => Promise<Duplex> {
  return async (attempt) => {
    const pod = await opts.findRelayPod();
    opts.onAttempt?.(attempt, pod);
    const access = typeof opts.access === 'function' ? await opts.access() : opts.access;
    return openPortForward(access, { namespace: pod.namespace, pod: pod.pod, port: pod.port ?? DEFAULT_RELAY_PORT }, opts.portForward);
  };
}
