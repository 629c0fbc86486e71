// One connection to one cluster: discovery, plan, relay, tunnel, TUN,
// routes, DNS and VNAT, assembled in an order that can always be undone.
// Every host change goes through the journal before it is made; the TUN
// device (and the routes on it) and the owner-flagged nftables table vanish
// with the process by themselves, so even `kill -9` leaves nothing that the
// next start cannot repair.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureRelay, type InstalledRelay } from '../cluster/relayInstaller';
import { clusterClients, type ClusterClients } from '../cluster/clusterClients';
import { discoverPodCidrs } from '../cluster/podCidrs';
import { discoverServiceCidrs } from '../cluster/serviceCidr';
import { clusterAccessFromKubeConfig } from '../cluster/portForwardAccess';
import type { ClusterAccess } from '../cluster/portForward';
import { relayTransport } from '../cluster/portForwardRelay';
import { DEFAULT_RELAY_IMAGE, RELAY_NAME, RELAY_SELECTOR } from '../cluster/relayManifests';
import { DEFAULT_FORWARDER_MARK, clusterResolverOverWire, startLocalDns, type LocalDns } from '../dns/localDns';
import type { Logger, ScopedLogger } from '../log/logger';
import type {
  ConnectParams, ConnectionInfo, InterceptInfo, InterceptParams, InterceptResult, RoutingPlan, VnatMapping,
} from '../protocol/rpc';
import { DEFAULT_RELAY_HEALTH_PORT, DEFAULT_RELAY_PORT, RELAY_VERSION, RelayEnv } from '../relay/relayConstants';
import { SystemStack } from '../stack/systemStack';
import { clusterDnsOperation, originalResolverConfig } from '../system/clusterDnsWiring';
import { runChecked, runCommand, type CommandRunner } from '../system/commandRunner';
import { detectDnsIntegration } from '../system/dnsIntegration';
import type { Journal } from '../system/journal';
import { routeOperationsForPlan } from '../system/routeOperation';
import { TunDevice } from '../tun/tunDevice';
import { TunnelSupervisor } from '../tunnel/tunnelSupervisor';
import type { ConnectionEvents, ActiveConnection } from './connection';
import { FlowForwarder, type TcpFlowContext } from './flowForwarder';
import { chooseContainer, containerEnvironment, findWorkload, readyPod } from '../intercept/containerEnv';
import { InterceptManager } from '../intercept/interceptManager';
import { readWorkload } from '../intercept/agentResources';
import { kubeJson } from '../cluster/kubeJson';
import { mangleEnv } from '../vnat/envMangling';
import { ExhaustionWarnings } from '../vnat/exhaustionWarnings';
import { MappingRegistry, type VirtualAddressTable } from './mappingRegistry';
import { TunnelRouter, proxyViaRoutes } from './tunnelRouter';

/** The routing decision, given the cluster's subnets (pure; see daemon/routing). */
export type Planner = (params: ConnectParams, cluster: { serviceCidrs: string[]; podCidrs: string[] }, ownDevice: string) => Promise<RoutingPlan>;

/** Builds the VNAT table for a plan (see daemon/vnat). */
export type VnatTableFactory = (plan: RoutingPlan) => VirtualAddressTable & { isVirtual(ip: string): boolean; isRouted(ip: string): boolean };

export interface LiveConnectionDeps {
  logger: Logger;
  journal: Journal;
  device: string;
  planner: Planner;
  vnatTable: VnatTableFactory;
  run?: CommandRunner;
  /** Path of the relay script shipped next to the daemon bundle. */
  relayScriptPath?: string;
  relayImage?: string;
  relayReadyTimeoutMs?: number;
  /** How long an intercept waits for the agent in every pod (InterceptParams.agentTimeoutSeconds overrides). */
  agentReadyTimeoutMs?: number;
  /** TUN addresses: a /30 of the benchmarking range, never a cluster or VPN subnet. */
  tunCidr?: { tunIp: string; fakeIp: string; prefix: number };
}

const DEFAULT_TUN = { tunIp: '198.18.0.1', fakeIp: '198.18.0.2', prefix: 30 };
const CLUSTER_DOMAIN = 'cluster.local';

/** Cluster subnets: as given, else discovered. */
export async function clusterSubnets(params: ConnectParams, clients: ClusterClients): Promise<{ serviceCidrs: string[]; podCidrs: string[] }> {
  const serviceCidrs = params.serviceCidrs?.length ? params.serviceCidrs : await discoverServiceCidrs(clients.core, params.namespace);
  const podCidrs = params.podCidrs?.length ? params.podCidrs : await discoverPodCidrs(clients.core);
  return { serviceCidrs, podCidrs };
}

export class LiveConnection implements ActiveConnection {
  private readonly log: ScopedLogger;
  private readonly run: CommandRunner;
  private clients: ClusterClients | undefined;
  private access: ClusterAccess | undefined;
  private plan: RoutingPlan | undefined;
  private relay: InstalledRelay | undefined;
  private supervisor: TunnelSupervisor | undefined;
  private stack: SystemStack<TcpFlowContext> | undefined;
  private forwarder: FlowForwarder | undefined;
  private dns: LocalDns | undefined;
  private namespaceTimer: NodeJS.Timeout | undefined;
  private mappingsRegistry: MappingRegistry | undefined;
  private tunnelState: ConnectionInfo['state'] = 'connecting';
  private readonly since = new Date().toISOString();
  private tunnelError: string | undefined;
  private closed = false;
  private readonly ingests = new Map<string, InterceptInfo>();
  private intercepts: InterceptManager | undefined;

  constructor(private readonly params: ConnectParams, private readonly deps: LiveConnectionDeps, private readonly events: ConnectionEvents) {
    this.log = deps.logger.scoped('connection');
    this.run = deps.run ?? runCommand;
  }

  /** Builds everything; on any failure undoes what was done and rethrows. */
  async start(signal: AbortSignal): Promise<this> {
    try {
      await this.build(signal);
      return this;
    } catch (e) {
      await this.disconnect();
      throw e;
    }
  }

  private step(signal: AbortSignal, what: string): void {
    if (signal.aborted) throw new Error(`connect cancelled (while ${what})`);
    this.log.info(what);
  }

  private async build(signal: AbortSignal): Promise<void> {
    const { params, deps } = this;
    this.step(signal, `reading cluster ${params.context}`);
    const clients = clusterClients(params.kubeconfig, params.context);
    this.clients = clients;
    const subnets = await clusterSubnets(params, clients);
    this.step(signal, `cluster subnets: services ${subnets.serviceCidrs.join(', ')}; pods ${subnets.podCidrs.join(', ')}`);
    const plan = await deps.planner(params, subnets, deps.device);
    if (plan.error) throw new Error(plan.error);
    this.plan = plan;
    this.access = await clusterAccessFromKubeConfig(clients.kubeConfig);
    // A --proxy-via workload that does not exist fails the connect before anything is changed (not even the relay).
    for (const workload of new Set(proxyViaRoutes(plan).map((r) => r.workload))) {
      await readWorkload(kubeJson(() => this.access!), params.namespace, workload).catch((e: Error) => {
        throw new Error(`--proxy-via: ${e.message}`);
      });
    }

    this.step(signal, `ensuring the relay in namespace ${params.namespace}`);
    const scriptPath = deps.relayScriptPath ?? join(__dirname, 'relay.js');
    let script: string;
    try {
      script = readFileSync(scriptPath, 'utf8');
    } catch {
      throw new Error(`the relay script is missing next to the daemon (${scriptPath}); reinstall the extension`);
    }
    const relay = await ensureRelay(clients.core, clients.apps, {
      namespace: params.namespace,
      image: deps.relayImage ?? DEFAULT_RELAY_IMAGE,
      version: RELAY_VERSION,
      script,
      tunnelPort: DEFAULT_RELAY_PORT,
      healthPort: DEFAULT_RELAY_HEALTH_PORT,
      secretEnv: RelayEnv.secret,
      portEnv: RelayEnv.port,
      healthPortEnv: RelayEnv.healthPort,
    }, this.log.child('relay'), deps.relayReadyTimeoutMs ?? 120_000, signal);
    this.relay = relay;

    this.step(signal, `opening the tunnel to ${relay.namespace}/${relay.pod}`);
    this.intercepts = new InterceptManager({
      api: kubeJson(() => this.access!),
      access: () => this.access!,
      script,
      image: deps.relayImage ?? DEFAULT_RELAY_IMAGE,
      readyTimeoutMs: deps.agentReadyTimeoutMs ?? 120_000,
      log: this.log.child('intercept'),
      changed: () => this.events.changed(),
    });
    let currentPod = relay.pod;
    const supervisor = new TunnelSupervisor({
      openTransport: relayTransport({
        // A function: credentials refreshed by the client apply to the next attempt.
        access: () => this.access!,
        findRelayPod: async () => ({ namespace: relay.namespace, pod: await this.findRelayPod(currentPod), port: DEFAULT_RELAY_PORT }),
        onAttempt: (_n, pod) => { currentPod = pod.pod; },
      }),
      secret: relay.secret,
      software: `tpv-daemon/${RELAY_VERSION}`,
      log: (level, message) => this.log.child('tunnel')[level](message),
    });
    this.supervisor = supervisor;
    supervisor.on('up', () => {
      // The relay pod may have been replaced: status names the one the tunnel reaches now.
      if (this.relay && this.relay.pod !== currentPod) this.relay = { ...this.relay, pod: currentPod };
      this.tunnelState = 'connected';
      this.tunnelError = undefined;
      this.events.changed();
    });
    supervisor.on('down', (d) => {
      if (/\b401\b|Unauthorized/.test(d.reason.message)) this.events.credentialsExpired(this.params.context);
      this.tunnelState = 'reconnecting';
      this.tunnelError = `tunnel down: ${d.reason.message}; retrying in ${Math.round(d.retryInMs / 100) / 10}s`;
      this.events.changed();
    });
    supervisor.start();
    await supervisor.waitUntilUp(30_000);

    // --proxy-via: an agent in each named workload (connect's namespace) before any flow can need it.
    const proxyRoutes = proxyViaRoutes(plan);
    for (const workload of new Set(proxyRoutes.map((r) => r.workload))) {
      this.step(signal, `injecting the --proxy-via agent into ${params.namespace}/${workload}`);
      await this.intercepts.startProxy(params.namespace, workload);
    }
    const tunnels = new TunnelRouter(supervisor, proxyRoutes, (workload) => this.intercepts?.proxyTunnel(params.namespace, workload));

    const table = deps.vnatTable(plan);
    const mappings = new MappingRegistry(table, (what) => this.events.mappingsChanged(what));
    this.mappingsRegistry = mappings;

    this.step(signal, `creating TUN device ${deps.device}`);
    const tunCidr = deps.tunCidr ?? DEFAULT_TUN;
    const device = TunDevice.open({ name: deps.device });
    const forwarder = new FlowForwarder(tunnels, mappings, (ip) => (table.isVirtual(ip) ? mappings.toReal(ip) : table.isRouted(ip) ? ip : undefined), this.log.child('flows'));
    this.forwarder = forwarder;
    let stack: SystemStack<TcpFlowContext>;
    try {
      await runChecked(this.run, 'ip', ['addr', 'add', `${tunCidr.tunIp}/${tunCidr.prefix}`, 'dev', deps.device]);
      await runChecked(this.run, 'ip', ['link', 'set', deps.device, 'up']);
      stack = await SystemStack.start<TcpFlowContext>({
        device,
        ipv4: { tunIp: tunCidr.tunIp, fakeIp: tunCidr.fakeIp },
        admitTcp: (flow) => forwarder.admitTcp(flow),
        onTcpFlow: (socket, original, ctx) => forwarder.onTcpFlow(socket, original, ctx),
        onAbandoned: (_original, ctx) => forwarder.abandon(ctx),
        onUdp: (d) => forwarder.onUdp(d, stack),
        onError: (e) => this.log.warn(`data path: ${e.message}`),
        onFatal: (e) => { this.log.error(`data path stopped: ${e.message}`); this.tunnelState = 'disconnecting'; this.tunnelError = e.message; this.events.changed(); },
      });
    } catch (e) {
      await device.close();
      throw e;
    }
    this.stack = stack;

    this.step(signal, 'adding routes');
    for (const op of routeOperationsForPlan(plan, deps.device, this.run)) await deps.journal.apply(op);

    this.step(signal, 'starting cluster DNS');
    const integration = await detectDnsIntegration(this.run);
    const original = originalResolverConfig(integration, (p) => readFileSync(p, 'utf8'));
    const namespaces = await this.listNamespaces();
    const exhaustion = new ExhaustionWarnings((m) => this.log.warn(m));
    const dns = await startLocalDns({
      listen: { address: tunCidr.tunIp, port: 53 },
      clusterDomain: CLUSTER_DOMAIN,
      namespace: params.namespace,
      namespaces,
      searchDomains: original.searchDomains,
      originalNameservers: original.nameservers.map((address) => ({ address, port: 53 })),
      socketMark: integration === 'nft-redirect' ? DEFAULT_FORWARDER_MARK : undefined,
      clusterResolver: clusterResolverOverWire((query) => supervisor.dnsExchange(query)),
      toVirtual: (ip) => {
        try {
          return mappings.toVirtual(ip);
        } catch (e) {
          exhaustion.report(e, `a DNS answer with ${ip} was refused (SERVFAIL)`);
          throw e;
        }
      },
      toReal: (ip) => mappings.toReal(ip),
      onMapping: (m) => mappings.noteName(m.realIp, m.name),
      virtualSubnets: [plan.virtualSubnet],
      clusterSubnets: plan.subnets.map((s) => s.subnet),
    });
    this.dns = dns;
    await deps.journal.apply(clusterDnsOperation({
      integration,
      device: deps.device,
      dnsAddress: tunCidr.tunIp,
      dnsPort: 53,
      clusterDomain: CLUSTER_DOMAIN,
      namespace: params.namespace,
      namespaces,
      originalNameservers: original.nameservers,
      bypassMark: DEFAULT_FORWARDER_MARK,
      onRedirectLost: (reason) => this.log.error(`DNS redirect lost: ${reason}`),
    }, this.run));
    this.namespaceTimer = setInterval(() => void this.refreshNamespaces(), 30_000);
    this.namespaceTimer.unref();
    this.tunnelState = supervisor.state === 'up' ? 'connected' : 'reconnecting';
  }

  private async findRelayPod(previous: string): Promise<string> {
    const core = this.clients?.core;
    if (!core) throw new Error('not connected to the cluster');
    const pods = (await core.listNamespacedPod({ namespace: this.params.namespace, labelSelector: RELAY_SELECTOR })).items;
    const ready = pods.filter((p) => !p.metadata?.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    const same = ready.find((p) => p.metadata?.name === previous);
    const pick = same ?? ready[0];
    if (!pick?.metadata?.name) throw new Error(`no ready ${RELAY_NAME} pod in namespace ${this.params.namespace} (yet)`);
    return pick.metadata.name;
  }

  private async listNamespaces(): Promise<string[]> {
    try {
      return (await this.clients!.core.listNamespace()).items.map((n) => n.metadata?.name ?? '').filter(Boolean);
    } catch (e) {
      this.log.warn(`cannot list namespaces (${(e as Error).message}); only ${this.params.namespace} is known to DNS`);
      return [this.params.namespace];
    }
  }

  private async refreshNamespaces(): Promise<void> {
    if (this.closed || !this.dns) return;
    this.dns.setNamespaces(await this.listNamespaces());
  }

  info(): ConnectionInfo {
    const info: ConnectionInfo = {
      state: this.closed ? 'disconnecting' : this.tunnelState,
      context: this.params.context,
      namespace: this.params.namespace,
      since: this.since,
    };
    if (this.clients) info.server = this.clients.server;
    if (this.tunnelError) info.error = this.tunnelError;
    if (this.stack) info.device = this.deps.device;
    if (this.plan) info.plan = this.plan;
    if (this.dns) info.dns = { domains: [CLUSTER_DOMAIN], server: `${this.dns.address}:${this.dns.port}`, searchPaths: [`${this.params.namespace}.svc.${CLUSTER_DOMAIN}`] };
    if (this.relay) info.relay = { namespace: this.relay.namespace, pod: this.relay.pod, version: this.relay.version };
    return info;
  }

  mappings(): VnatMapping[] {
    return this.mappingsRegistry?.list() ?? [];
  }

  mappingCount(): number {
    return this.mappingsRegistry?.size ?? 0;
  }

  pendingMappingChanges(): { entries: number; counters: number } {
    return this.mappingsRegistry?.pending ?? { entries: 0, counters: 0 };
  }

  takeMappingChanges(opts: { counters: boolean; build?: boolean }): VnatMapping[] {
    return this.mappingsRegistry?.take(opts) ?? [];
  }

  async intercept(params: InterceptParams): Promise<InterceptResult> {
    const namespace = params.namespace ?? this.params.namespace;
    if (params.mode === 'intercept') {
      const timeoutMs = params.agentTimeoutSeconds !== undefined ? params.agentTimeoutSeconds * 1000 : undefined;
      const started = await this.intercepts!.start(params, namespace, timeoutMs);
      try {
        return { intercept: started.info, ...await this.containerEnv(namespace, params.workload, started.pod, started.container) };
      } catch (e) {
        await this.intercepts!.leave(namespace, params.workload, false).catch(() => undefined);
        throw e;
      }
    }
    const workload = await findWorkload(this.clients!.apps, namespace, params.workload);
    const pod = await readyPod(this.clients!.core, workload);
    const container = chooseContainer(pod.spec!, params.container, `${namespace}/${params.workload}`);
    const result = await this.containerEnv(namespace, params.workload, pod.metadata!.name!, container);
    const info: InterceptInfo = { workload: params.workload, namespace, kind: workload.kind, remotePort: 0, localPort: 0, mode: 'ingest', since: new Date().toISOString(), state: 'active' };
    this.ingests.set(`${namespace}/${params.workload}`, info);
    this.events.changed();
    return { intercept: info, ...result };
  }

  /** A container's environment mangled to virtual IPs, plus TELEPRESENCE_* and its mounts (ingest and intercept alike). */
  private async containerEnv(namespace: string, workload: string, podName: string, container: string): Promise<Omit<InterceptResult, 'intercept'>> {
    const clients = this.clients!;
    const pod = await clients.core.readNamespacedPod({ name: podName, namespace });
    const raw = await containerEnvironment(clients.kubeConfig, namespace, podName, container);
    const spec = pod.spec!.containers.find((c) => c.name === container)!;
    const mounts = (spec.volumeMounts ?? []).map((m) => ({ name: m.name, mountPath: m.mountPath, readOnly: !!m.readOnly }));
    const registry = this.mappingsRegistry!;
    const translated = this.plan!.subnets.filter((e) => e.resolution === 'vnat' || e.resolution === 'proxy-via');
    const mangled = mangleEnv(raw, {
      toVirtual: (ip) => registry.toVirtual(ip),
      families: { ipv4: translated.some((e) => !e.subnet.includes(':')), ipv6: translated.some((e) => e.subnet.includes(':')) },
    });
    for (const ref of mangled.references) registry.noteEnvVar(ref.realIp, ref.variable);
    const env: Record<string, string> = {
      ...mangled.env,
      TELEPRESENCE_CONTAINER: container,
      TELEPRESENCE_MOUNTS: mounts.map((m) => m.mountPath).join(':'),
      TELEPRESENCE_INTERCEPT_ID: `${namespace}/${workload}:${container}`,
    };
    this.log.info(`environment of ${namespace}/${workload} (container ${container} of pod ${podName}); ${mangled.references.length} IP reference(s) mapped to virtual IPs`);
    return { env, mounts };
  }

  async leave(workload: string, namespace?: string): Promise<void> {
    const ns = namespace ?? this.params.namespace;
    const key = `${ns}/${workload}`;
    if (this.ingests.delete(key)) {
      this.events.changed();
      return;
    }
    if (this.intercepts?.isProxyVia(ns, workload)) throw new Error(`${key} carries this connection's --proxy-via agent, which is removed on disconnect; there is no intercept to leave`);
    if (!(await this.intercepts?.leave(ns, workload))) throw new Error(`no intercept or ingest of ${key} is active`);
  }

  leaving(workload: string, namespace?: string): Promise<void> | undefined {
    const ns = namespace ?? this.params.namespace;
    return this.intercepts?.leaving(ns, workload)?.then((left) => {
      if (!left) throw new Error(`no intercept or ingest of ${ns}/${workload} is active`);
    });
  }

  interceptList(): InterceptInfo[] {
    return [...this.ingests.values(), ...(this.intercepts?.list() ?? [])];
  }

  /** `tpv uninstall`: leaves every intercept and removes every agent the user can see. */
  async uninstallAgents(): Promise<string[]> {
    if (!this.intercepts) return [];
    const known = [this.params.namespace, ...this.interceptList().map((i) => i.namespace)];
    return this.intercepts.uninstallAgents(known);
  }

  updateCredentials(kubeconfig: string): void {
    if (!this.clients) return;
    const clients = clusterClients(kubeconfig, this.params.context);
    if (clients.server !== this.clients.server) throw new Error(`the new credentials are for ${clients.server}, not ${this.clients.server}; disconnect and connect to switch clusters`);
    this.clients = clients;
    void clusterAccessFromKubeConfig(clients.kubeConfig).then((a) => {
      this.access = a;
      this.log.info('credentials refreshed by the client; reconnecting the tunnel with them');
      this.supervisor?.retryNow();
    }, (e: Error) => this.log.warn(`refreshed credentials are unusable: ${e.message}`));
  }

  async disconnect(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const attempt = async (what: string, fn: () => Promise<unknown> | unknown) => {
      try { await fn(); } catch (e) { this.log.warn(`while disconnecting, ${what}: ${(e as Error).message}`); }
    };
    if (this.namespaceTimer) clearInterval(this.namespaceTimer);
    // Agents first, while the cluster is still reachable through our credentials.
    await attempt('leaving intercepts', () => this.intercepts?.leaveAll());
    await attempt('reverting host changes', async () => {
      const report = await this.deps.journal.revertAll();
      for (const f of report.failed) this.log.error(`could not revert ${f.change}: ${f.error}`);
    });
    await attempt('stopping DNS', () => this.dns?.close());
    this.forwarder?.close();
    // Closing the stack closes the device, which takes its routes and addresses with it.
    await attempt('closing the TUN device', () => this.stack?.close());
    await attempt('closing the tunnel', () => this.supervisor?.stop());
  }
}
