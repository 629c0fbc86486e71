// Intercepts: redirect a workload's service port to a port on this
// workstation, and put everything back on leave.
//
// start: find the workload and the Service in front of it, resolve the port,
// check the user's rights (nothing changes when one is missing), make sure
// the namespace has the agent's script and secret, inject the agent into the
// pod template, wait until every pod runs a ready agent, point a numeric
// target port at the agent, then hold one tunnel per agent pod (a
// port-forward to its tunnel port); each connection the cluster sends to the
// agent arrives as an inbound stream and is joined to 127.0.0.1:LOCAL.
// Any failure undoes what was done, in reverse.
//
// leave: close the tunnels, restore the service and the pod template from
// their annotations, wait for the agent pods to go, and remove the
// namespace's ConfigMap and Secret when no other workload uses them. All that
// time the intercept stays listed with state `leaving` (a client that saw it
// gone could send requests to pods still rolling out); it goes when the leave
// ends. A second leave of the workload joins the first (departures.ts); an
// intercept of it waits for the leave to end.
//
// startProxy (connect --proxy-via CIDR=WORKLOAD): the same agent without an
// intercept port and without touching any Service; its tunnels carry the
// daemon's flows to CIDR, which the agent dials from inside the workload's
// pod. It is held like an intercept and left the same way on disconnect.
// One agent serves both: intercepting the --proxy-via workload swaps in the
// intercept's agent (which dials just the same), and leaving that intercept
// swaps the --proxy-via agent back; only disconnect removes it.
import type { Duplex } from 'node:stream';
import { isDeepStrictEqual } from 'node:util';
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import type { KubeJson } from '../cluster/kubeJson';
import { openPortForward, type ClusterAccess, type PortForwardOptions, type PortForwardTarget } from '../cluster/portForward';
import type { ScopedLogger } from '../log/logger';
import type { InterceptInfo, InterceptParams, InterceptState } from '../protocol/rpc';
import { DEFAULT_AGENT_PORTS, RELAY_VERSION, RelayEnv } from '../relay/relayConstants';
import { TunnelSupervisor } from '../tunnel/tunnelSupervisor';
import type { FoundWorkload } from './agentResources';
import { missingPermissions, interceptPermissions, missingPermissionsError } from './accessReview';
import {
  AGENT_ANNOTATION, AGENT_SECRET, ORIGINAL_TARGET_PORTS_ANNOTATION, ORIGINAL_TEMPLATE_ANNOTATION, chooseAgentPorts, injectAgent, originalTemplate,
  injectProxyAgent, resolveServicePort, restoreServicePorts, type AgentSettings, type Injection,
} from './agentInjection';
import {
  agentWorkloads, deleteAgentObjects, ensureAgentObjects, listServices, namespacesWithAgentObjects, patchWorkloadTemplate, readWorkload,
  redirectService, redirectedServices, removeAgentObjectsIfUnused, restoreService, restoreWorkloadTemplate,
} from './agentResources';
import { agentRemoved, agentRollout } from './agentRollout';
import { labelSelectorText } from './containerEnv';
import { Departures } from './departures';
import { inboundDialer } from './inboundDialer';
import { parsePortSpec } from './portSpec';
import { chooseService } from './serviceSelection';
import type { KindInfo } from './workloadKinds';

export interface InterceptManagerDeps {
  api: KubeJson;
  /** Current cluster access (credentials may be refreshed by the client). */
  access: () => ClusterAccess | Promise<ClusterAccess>;
  /** The relay script, which the agent runs too. */
  script: string;
  image: string;
  /** How long the agent may take to become ready in every pod. */
  readyTimeoutMs: number;
  log: ScopedLogger;
  /** The set of intercepts or their state changed. */
  changed: () => void;
  portForward?: PortForwardOptions;
  /** How the tunnel to an agent pod is reached; default a port-forward through the API server (unit tests use memory pipes). */
  agentTransport?: (target: PortForwardTarget) => Promise<Duplex>;
  /** Pod list polling while waiting (default 500 ms) and while holding an intercept (default 2 s). */
  pollMs?: number;
  reconcileMs?: number;
}

export interface StartedIntercept {
  info: InterceptInfo;
  /** A ready pod running the agent, and the app container whose environment the intercept hands out. */
  pod: string;
  container: string;
}

interface ActiveIntercept {
  /** An intercept is active (listed); false for an agent held only for --proxy-via. */
  intercepting: boolean;
  /** The agent also carries this connection's --proxy-via flows; its template without intercept when set. */
  proxyVia: Injection | undefined;
  info: InterceptInfo;
  portSpec: string;
  kindInfo: KindInfo;
  namespace: string;
  name: string;
  selector: string;
  service: string;
  redirectsService: boolean;
  appPort: number;
  localPort: number;
  tunnelPort: number;
  secret: string;
  container: string;
  tunnels: Map<string, TunnelSupervisor>;
  timer: NodeJS.Timeout | undefined;
  connections: { connected: number; refused: number };
  /** A full leave (agent removed) is under way: no tunnel may be opened again. */
  tearingDown: boolean;
}

/** What an intercept sets on a held workload. */
interface InterceptFields {
  info: InterceptInfo;
  portSpec: string;
  service: string;
  redirectsService: boolean;
  appPort: number;
  localPort: number;
  tunnelPort: number;
  container: string;
}

/** Sleeps `ms`, or less when `signal` aborts meanwhile. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { clearTimeout(timer); signal?.removeEventListener('abort', done); resolve(); };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done);
  });
}

export class InterceptManager {
  private readonly active = new Map<string, ActiveIntercept>();
  private readonly departures = new Departures();
  private readonly log: ScopedLogger;

  constructor(private readonly deps: InterceptManagerDeps) {
    this.log = deps.log;
  }

  /** Intercepts held, `leaving` ones included (see InterceptInfo.state). */
  list(): InterceptInfo[] {
    return [...this.active.values()].filter((a) => a.intercepting).map((a) => a.info);
  }

  /** The outcome of the leave of namespace/name under way; undefined when none is. */
  leaving(namespace: string, name: string): Promise<boolean> | undefined {
    return this.departures.pending(`${namespace}/${name}`);
  }

  /** True when namespace/name carries this connection's --proxy-via agent and no intercept. */
  isProxyVia(namespace: string, name: string): boolean {
    const ic = this.active.get(`${namespace}/${name}`);
    return !!ic?.proxyVia && !ic.intercepting;
  }

  /** A tunnel to a ready agent pod of the --proxy-via workload (one that is up, if any); undefined when none is held. */
  proxyTunnel(namespace: string, name: string): TunnelSupervisor | undefined {
    const ic = this.active.get(`${namespace}/${name}`);
    if (!ic) return undefined;
    const all = [...ic.tunnels.values()];
    return all.find((t) => t.state === 'up') ?? all[0];
  }

  /**
   * Injects an agent without intercept port into namespace/name and holds a
   * tunnel to each of its pods, for --proxy-via. Nothing changes when the
   * workload is missing or the rights are; a failure undoes what was done.
   */
  async startProxy(namespace: string, name: string, timeoutMs = this.deps.readyTimeoutMs): Promise<void> {
    const { api } = this.deps;
    const key = `${namespace}/${name}`;
    await this.afterLeave(key, 'injecting the --proxy-via agent');
    const t0 = Date.now();
    const w = await readWorkload(api, namespace, name);
    const kind = w.kindInfo.kind;
    const what = `${kind.toLowerCase()} ${namespace}/${name}`;
    const current = w.object.spec?.template;
    if (!current?.spec) throw new Error(`${what} has no pod template of its own (a Rollout with workloadRef?); it cannot carry the --proxy-via agent`);
    const pristine = originalTemplate(w.object.metadata.annotations) ?? current;
    const selector = w.object.spec?.selector;
    if (!selector) throw new Error(`${what} has no selector`);
    const ports = chooseAgentPorts(pristine, DEFAULT_AGENT_PORTS);
    const injection: Injection = { agentPort: 0, ...injectProxyAgent(pristine, {
      image: this.deps.image, tunnelPort: ports.tunnel, firstInterceptPort: ports.intercept, healthPort: ports.health,
      secretEnv: RelayEnv.secret, secretName: AGENT_SECRET,
    }) };
    const held = this.active.get(key);
    if (held) {
      // An intercept's agent dials too; when the intercept ends, leave puts this agent in its place.
      held.proxyVia = injection;
      return;
    }
    const missing = await missingPermissions(api, namespace, interceptPermissions(w.kindInfo, false));
    if (missing && missing.length > 0) throw missingPermissionsError(missing, namespace, what);
    this.log.info(`--proxy-via through ${what}: agent ports ${ports.tunnel}/${ports.health}`);
    const ic: ActiveIntercept = {
      intercepting: false, proxyVia: injection,
      info: { workload: name, namespace, kind, remotePort: 0, localPort: 0, mode: 'intercept', since: new Date().toISOString(), state: 'active' },
      portSpec: '', kindInfo: w.kindInfo, namespace, name, selector: labelSelectorText(selector),
      service: '', redirectsService: false, appPort: 0, localPort: 0, tunnelPort: ports.tunnel,
      secret: '', container: '', tunnels: new Map(), timer: undefined, connections: { connected: 0, refused: 0 }, tearingDown: false,
    };
    await this.install(ic, w, current, injection, t0, timeoutMs, undefined);
    this.log.info(`--proxy-via agent of ${what} active after ${Date.now() - t0} ms: ${ic.tunnels.size} agent tunnel(s)`);
  }

  has(namespace: string, name: string): boolean {
    return this.active.has(`${namespace}/${name}`);
  }

  async start(params: InterceptParams, namespace: string, timeoutMs = this.deps.readyTimeoutMs): Promise<StartedIntercept> {
    const { api } = this.deps;
    const name = params.workload;
    const key = `${namespace}/${name}`;
    const spec = parsePortSpec(params.port);
    await this.afterLeave(key, 'intercepting');
    // The agent timeout counts from here: the leave's rollout was not this intercept's.
    const t0 = Date.now();
    const existing = this.active.get(key);
    if (existing?.intercepting) {
      if (existing.portSpec === params.port) return { info: existing.info, pod: [...existing.tunnels.keys()][0] ?? '', container: existing.container };
      throw new Error(`${key} is already intercepted (port ${existing.portSpec}); leave it first (tpv leave ${name})`);
    }

    // ---- look, decide, check rights: nothing changes before this block ends
    const w = await readWorkload(api, namespace, name);
    const kind = w.kindInfo.kind;
    const what = `${kind.toLowerCase()} ${namespace}/${name}`;
    const current = w.object.spec?.template;
    if (!current?.spec) throw new Error(`${what} has no pod template of its own (a Rollout with workloadRef?); it cannot be intercepted`);
    // A workload left with an agent (daemon killed) is handled from its pristine template.
    const pristine = originalTemplate(w.object.metadata.annotations) ?? current;
    const selector = w.object.spec?.selector;
    if (!selector) throw new Error(`${what} has no selector`);
    const services = await listServices(api, namespace);
    const { service } = chooseService(services, { kind, namespace, name, podLabels: pristine.metadata?.labels ?? {} }, spec.remote);
    const pristineService = withOriginalPorts(service);
    const resolved = resolveServicePort(pristineService, pristine, spec.remote);
    const ports = chooseAgentPorts(pristine, DEFAULT_AGENT_PORTS);
    const settings: AgentSettings = {
      image: this.deps.image, tunnelPort: ports.tunnel, firstInterceptPort: ports.intercept, healthPort: ports.health,
      secretEnv: RelayEnv.secret, secretName: AGENT_SECRET,
    };
    const injection = injectAgent(pristine, pristineService, resolved, settings);
    const redirectsService = injection.servicePatch.length > 0;
    const missing = await missingPermissions(api, namespace, interceptPermissions(w.kindInfo, redirectsService));
    if (missing && missing.length > 0) throw missingPermissionsError(missing, namespace, what);
    const container = params.container ?? resolved.container.name;
    if (!pristine.spec!.containers.some((c) => c.name === container)) {
      throw new Error(`${what} has no container "${container}"; its containers are: ${pristine.spec!.containers.map((c) => c.name).join(', ')}`);
    }
    const localPort = spec.local ?? resolved.servicePort.port;
    this.log.info(`intercepting ${what}: service ${service.metadata?.name} port ${resolved.servicePort.port} (app port ${resolved.containerPort}${resolved.targetName ? `, named ${resolved.targetName}` : ''}) → workstation port ${localPort}; agent ports ${ports.intercept}/${ports.tunnel}/${ports.health}`);

    // ---- change, remembering how to undo
    const fields = {
      info: { workload: name, namespace, kind, remotePort: resolved.servicePort.port, localPort, mode: 'intercept' as const, since: new Date().toISOString(), state: 'active' as const },
      portSpec: params.port, service: service.metadata!.name!, redirectsService, appPort: resolved.containerPort, localPort, tunnelPort: ports.tunnel, container,
    };
    if (existing) {
      const pods = await this.swapAgent(existing, w, injection, fields, t0, timeoutMs, redirectsService ? () => redirectService(api, service, injection.servicePatch) : undefined);
      this.log.info(`intercept of ${what} (sharing the --proxy-via agent) active after ${Date.now() - t0} ms: ${existing.tunnels.size} agent tunnel(s)`);
      return { info: existing.info, pod: pods[0]!, container };
    }
    const ic: ActiveIntercept = {
      intercepting: true, proxyVia: undefined, ...fields,
      kindInfo: w.kindInfo, namespace, name, selector: labelSelectorText(selector),
      secret: '', tunnels: new Map(), timer: undefined, connections: { connected: 0, refused: 0 }, tearingDown: false,
    };
    await this.install(ic, w, current, injection, t0, timeoutMs, redirectsService ? () => redirectService(api, service, injection.servicePatch) : undefined);
    this.log.info(`intercept of ${what} active after ${Date.now() - t0} ms: ${ic.tunnels.size} agent tunnel(s)`);
    return { info: ic.info, pod: [...ic.tunnels.keys()][0]!, container };
  }

  /**
   * The changing half of start/startProxy: agent objects, pod template, the
   * rollout, the service redirect (if any), the tunnels; then holds `ic`.
   * Any failure undoes what was done, in reverse, and rethrows.
   */
  private async install(ic: ActiveIntercept, w: FoundWorkload, current: NonNullable<FoundWorkload['object']['spec']>['template'], injection: Injection, t0: number, timeoutMs: number, redirect: (() => Promise<unknown>) | undefined): Promise<void> {
    const { api } = this.deps;
    const { namespace, name } = ic;
    const what = `${w.kindInfo.kind.toLowerCase()} ${namespace}/${name}`;
    const undo: Array<{ what: string; run: () => Promise<unknown> }> = [];
    try {
      const objects = await ensureAgentObjects(api, namespace, this.deps.script, RELAY_VERSION);
      ic.secret = objects.secret;
      if (objects.created.length) undo.push({ what: 'remove the agent ConfigMap/Secret', run: () => deleteAgentObjects(api, namespace, objects.created) });
      const alreadyInjected = w.object.metadata.annotations?.[ORIGINAL_TEMPLATE_ANNOTATION] !== undefined && isDeepStrictEqual(current, injection.template);
      undo.push({ what: 'restore the pod template', run: () => restoreWorkloadTemplate(api, w.kindInfo, namespace, name) });
      if (alreadyInjected) this.log.info(`${what} already carries this agent; reusing it`);
      else await patchWorkloadTemplate(api, w, injection);
      const pods = await this.waitForAgents(ic, timeoutMs - (Date.now() - t0));
      if (redirect) {
        undo.push({ what: 'restore the service', run: () => restoreService(api, namespace, ic.service) });
        await redirect();
      }
      await this.openTunnels(ic, pods, Math.max(5_000, timeoutMs - (Date.now() - t0)));
    } catch (e) {
      this.log.warn(`${ic.intercepting ? 'intercept' : '--proxy-via agent'} of ${what} failed (${(e as Error).message}); undoing what was done`);
      await this.closeTunnels(ic);
      for (const step of undo.reverse()) {
        try { await step.run(); } catch (u) { this.log.error(`while undoing the ${ic.intercepting ? 'intercept' : '--proxy-via agent'} of ${what}, could not ${step.what}: ${(u as Error).message}`); }
      }
      throw e;
    }
    ic.timer = setInterval(() => void this.reconcile(ic), this.deps.reconcileMs ?? 2_000);
    ic.timer.unref();
    this.active.set(`${namespace}/${name}`, ic);
    this.deps.changed();
  }

  /**
   * Replaces the agent of a held workload (same pods, same tunnels map) with
   * `injection`: the intercept's agent over the --proxy-via one (`fields`
   * given), or back (`fields` undefined). Waits for the new agent in every
   * pod and follows the pods with the tunnels; on failure puts the previous
   * agent and fields back.
   */
  private async swapAgent(ic: ActiveIntercept, w: FoundWorkload, injection: Injection, fields: InterceptFields | undefined, t0: number, timeoutMs: number, redirect: (() => Promise<unknown>) | undefined, hurry?: AbortSignal): Promise<string[]> {
    const { api } = this.deps;
    const before: InterceptFields & { intercepting: boolean } = {
      info: ic.info, portSpec: ic.portSpec, service: ic.service, redirectsService: ic.redirectsService, appPort: ic.appPort,
      localPort: ic.localPort, tunnelPort: ic.tunnelPort, container: ic.container, intercepting: ic.intercepting,
    };
    const previous = ic.intercepting ? undefined : ic.proxyVia;
    // The inbound dialer of every tunnel reads these at each connection: set before the new pods appear.
    if (fields) Object.assign(ic, fields);
    try {
      await patchWorkloadTemplate(api, w, injection);
      const expected = injection.template.metadata?.annotations?.[AGENT_ANNOTATION];
      const pods = await this.waitForAgents(ic, timeoutMs - (Date.now() - t0), expected, hurry);
      if (redirect) await redirect();
      ic.intercepting = fields !== undefined;
      await this.openTunnels(ic, pods.filter((p) => !ic.tunnels.has(p)), Math.max(5_000, timeoutMs - (Date.now() - t0)));
      // The pods of the previous agent are on their way out.
      for (const [p, t] of ic.tunnels) if (!pods.includes(p)) { ic.tunnels.delete(p); void t.stop('the agent was replaced'); }
      this.deps.changed();
      return pods;
    } catch (e) {
      this.log.warn(`swapping the agent of ${ic.namespace}/${ic.name} failed (${(e as Error).message}); putting the previous one back`);
      Object.assign(ic, before);
      if (fields?.redirectsService) await restoreService(api, ic.namespace, fields.service).catch(() => undefined);
      if (previous) await patchWorkloadTemplate(api, w, previous).catch((u: Error) => this.log.error(`could not put the --proxy-via agent of ${ic.namespace}/${ic.name} back: ${u.message}`));
      throw e;
    }
  }

  /**
   * Ends the intercept of namespace/name and restores the workload. Also
   * cleans a workload left with an agent by an earlier daemon. False when
   * there was nothing to leave. While it runs the intercept is listed as
   * `leaving`; a second call for the same workload meanwhile starts nothing
   * and shares the first one's outcome (and, without `waitForRollout`, cuts
   * its rollout wait short).
   */
  leave(namespace: string, name: string, waitForRollout = true, keepProxyVia = true): Promise<boolean> {
    const key = `${namespace}/${name}`;
    const pending = this.departures.pending(key);
    if (pending) {
      this.log.info(`${key} is being left already; this leave waits for that one`);
      if (!waitForRollout) this.departures.hurry(key);
      return pending;
    }
    const ic = this.active.get(key);
    if (ic?.proxyVia && keepProxyVia) {
      if (!ic.intercepting) return Promise.resolve(false);
      return this.departures.run(key, (hurry) => this.leaveToProxyVia(ic, waitForRollout, hurry));
    }
    return this.departures.run(key, (hurry) => this.tearDown(namespace, name, ic, waitForRollout, hurry));
  }

  /** Leaves every intercept without waiting for rollouts (disconnect, quit). */
  async leaveAll(): Promise<void> {
    // SIGTERM's disconnect does not queue behind a `tpv leave`: leaves under way
    // stop waiting for their rollout, and end, before the rest is removed.
    await this.departures.hurryAll();
    for (const ic of [...this.active.values()]) {
      try { await this.leave(ic.namespace, ic.name, false, false); } catch (e) { this.log.error((e as Error).message); }
    }
  }

  /** Shows the intercept as `ic.info.state = state` to every client. */
  private setState(ic: ActiveIntercept, state: InterceptState): void {
    if (ic.info.state === state) return;
    // A new object: the info handed out earlier (the intercept's result) keeps what it said.
    ic.info = { ...ic.info, state };
    if (ic.intercepting) this.deps.changed();
  }

  /**
   * The intercept of the --proxy-via workload ends, the agent stays: the
   * service back first, then the agent without intercept port.
   */
  private async leaveToProxyVia(ic: ActiveIntercept, waitForRollout: boolean, hurry: AbortSignal): Promise<boolean> {
    const { api } = this.deps;
    const key = `${ic.namespace}/${ic.name}`;
    this.setState(ic, 'leaving');
    try {
      if (ic.redirectsService) await restoreService(api, ic.namespace, ic.service);
    } catch (e) {
      // Nothing changed yet: the intercept still works, and a later leave can try again.
      this.setState(ic, 'active');
      throw e;
    }
    try {
      ic.redirectsService = false;
      ic.appPort = 0;
      const w = await readWorkload(api, ic.namespace, ic.name);
      await this.swapAgent(ic, w, ic.proxyVia!, undefined, Date.now(), waitForRollout ? this.deps.readyTimeoutMs : 0, undefined, hurry).catch((e: Error) => {
        if (waitForRollout && !hurry.aborted) throw e;
      });
    } finally {
      // Failed or not, this is no intercept any more: the service points at the
      // app again and no connection is joined to the workstation (appPort 0). A
      // failed swap leaves the intercept's agent, which dials for --proxy-via all the same.
      const wasListed = ic.intercepting;
      ic.intercepting = false;
      ic.info = { ...ic.info, state: 'active' };
      if (wasListed) this.deps.changed();
    }
    this.log.info(`left ${key}: the --proxy-via agent stays`);
    return true;
  }

  /**
   * Removes the agent of namespace/name (held as `ic`, or left by an earlier
   * daemon) and restores the service and the pod template.
   */
  private async tearDown(namespace: string, name: string, ic: ActiveIntercept | undefined, waitForRollout: boolean, hurry: AbortSignal): Promise<boolean> {
    const key = `${namespace}/${name}`;
    const { api } = this.deps;
    const errors: string[] = [];
    const attempt = async <T>(what: string, fn: () => Promise<T>): Promise<T | undefined> => {
      try { return await fn(); } catch (e) { errors.push(`could not ${what}: ${(e as Error).message}`); return undefined; }
    };
    let kindInfo: KindInfo | undefined = ic?.kindInfo;
    let selector = ic?.selector;
    if (ic) {
      ic.tearingDown = true;
      if (ic.timer) clearInterval(ic.timer);
      ic.timer = undefined;
      // Listed as leaving (not gone) until the pods without the agent have rolled out.
      this.setState(ic, 'leaving');
    } else {
      // Not ours in this daemon: a leftover agent (the daemon that made it died) is still ours to remove.
      const found = await readWorkload(api, namespace, name).catch(() => undefined);
      if (!found || found.object.metadata.annotations?.[ORIGINAL_TEMPLATE_ANNOTATION] === undefined) return false;
      kindInfo = found.kindInfo;
      selector = found.object.spec?.selector ? labelSelectorText(found.object.spec.selector) : undefined;
      this.log.info(`${key} carries an agent from an earlier session; removing it`);
    }
    let services: string[] = [];
    try {
      if (ic) await this.closeTunnels(ic);
      // Service first: a numeric target must not point at agents that are going away.
      services = ic ? (ic.redirectsService ? [ic.service] : []) : (await attempt('list services', () => redirectedServices(api, namespace)) ?? []).map((s) => s.metadata!.name!);
      for (const svc of services) await attempt(`restore service ${namespace}/${svc}`, () => restoreService(api, namespace, svc));
      await attempt(`restore the pod template of ${kindInfo!.kind.toLowerCase()} ${key}`, () => restoreWorkloadTemplate(api, kindInfo!, namespace, name));
      if (waitForRollout && selector && errors.length === 0) await this.waitForAgentRemoval(namespace, selector, `${kindInfo!.kind.toLowerCase()} ${key}`, hurry);
      await attempt(`remove the agent ConfigMap/Secret in ${namespace}`, () => removeAgentObjectsIfUnused(api, namespace));
    } finally {
      // Gone from the list when the leave ends, also when it failed: the tunnels
      // are closed, so this is no intercept any more, and listing it as active
      // or leaving forever would be untrue. The error goes to the caller, and a
      // later `leave` still finds what is left through the template annotation.
      if (ic && this.active.get(key) === ic) {
        this.active.delete(key);
        if (ic.intercepting) this.deps.changed();
      }
    }
    if (errors.length) throw new Error(`leaving ${key} was incomplete: ${errors.join('; ')}`);
    this.log.info(`left ${key}: pod template${services.length ? ' and service' : ''} restored`);
    return true;
  }

  /**
   * `tpv uninstall`: every workload carrying an agent (all namespaces the user
   * may list, else `fallbackNamespaces`), every redirected service, every
   * agent ConfigMap and Secret. Returns what was removed.
   */
  async uninstallAgents(fallbackNamespaces: string[]): Promise<string[]> {
    // The tunnels close here; the restores are the generic sweep's, so it reports them all.
    const held = [...this.active.values()];
    this.active.clear();
    for (const ic of held) {
      if (ic.timer) clearInterval(ic.timer);
      await this.closeTunnels(ic);
    }
    if (held.length) this.deps.changed();
    return uninstallAgents(this.deps.api, [...fallbackNamespaces, ...held.map((ic) => ic.namespace)], this.log);
  }

  // ---------------------------------------------------------------- internals

  /**
   * Waits for the leave of `key` under way, if any. An intercept of a
   * workload that is being left waits rather than fails: the leave ends on
   * its own (within readyTimeoutMs), the daemon runs intercepts and leaves
   * one at a time anyway (so an RPC caller would wait just the same), and
   * the new agent must go into the restored workload instead of racing the
   * teardown for its template and agent objects. A failed leave does not
   * stop it: start works from the pristine template in the annotation, as
   * with an agent an earlier daemon left.
   */
  private async afterLeave(key: string, what: string): Promise<void> {
    const pending = this.departures.pending(key);
    if (!pending) return;
    this.log.info(`${key} is being left; ${what} once that leave has ended`);
    await pending.catch(() => undefined);
  }

  private async listPods(namespace: string, selector: string): Promise<V1Pod[]> {
    const r = await this.deps.api.get<{ items?: V1Pod[] }>(`/api/v1/namespaces/${encodeURIComponent(namespace)}/pods?labelSelector=${encodeURIComponent(selector)}`);
    return r.items ?? [];
  }

  private async waitForAgents(ic: ActiveIntercept, timeoutMs: number, expected?: string, hurry?: AbortSignal): Promise<string[]> {
    const deadline = Date.now() + Math.max(0, timeoutMs);
    let last = 'no pod was looked at yet';
    for (;;) {
      if (hurry?.aborted) throw new Error(`stopped waiting for the agent of ${ic.kindInfo.kind.toLowerCase()} ${ic.namespace}/${ic.name} (disconnecting)`);
      const rollout = agentRollout(await this.listPods(ic.namespace, ic.selector), expected);
      if (rollout.complete) return rollout.agentPods;
      if (rollout.waitingFor !== last) this.log.debug(`waiting for the agent of ${ic.kindInfo.kind.toLowerCase()} ${ic.namespace}/${ic.name}: ${rollout.waitingFor}`);
      last = rollout.waitingFor;
      if (Date.now() >= deadline) {
        throw new Error(`the traffic agent in ${ic.kindInfo.kind.toLowerCase()} ${ic.namespace}/${ic.name} did not become ready within ${Math.round(timeoutMs / 1000)}s: ${last}. ` +
          `Check \`kubectl -n ${ic.namespace} describe pods -l ${ic.selector}\`; ${ic.intercepting ? 'the intercept was undone' : 'the --proxy-via agent was removed again'}.`);
      }
      await pause(this.deps.pollMs ?? 500, hurry);
    }
  }

  /** Until no pod of the workload runs the agent; `hurry` (disconnect) ends the wait early. */
  private async waitForAgentRemoval(namespace: string, selector: string, what: string, hurry: AbortSignal): Promise<void> {
    const deadline = Date.now() + this.deps.readyTimeoutMs;
    while (Date.now() < deadline) {
      if (hurry.aborted) {
        this.log.info(`not waiting for the pods of ${what} to roll out without the agent (disconnecting); the template is restored`);
        return;
      }
      try {
        if (agentRemoved(await this.listPods(namespace, selector))) return;
      } catch { /* keep waiting; the restore itself is done */ }
      await pause(this.deps.pollMs ?? 500, hurry);
    }
    this.log.warn(`pods of ${what} still run the agent ${Math.round(this.deps.readyTimeoutMs / 1000)}s after leave; the rollout back is slow, but the template is restored`);
  }

  private openTunnel(ic: ActiveIntercept, pod: string): TunnelSupervisor {
    const log = this.log.child(pod);
    const sup = new TunnelSupervisor({
      openTransport: async () => {
        const target = { namespace: ic.namespace, pod, port: ic.tunnelPort };
        return this.deps.agentTransport ? this.deps.agentTransport(target) : openPortForward(await this.deps.access(), target, this.deps.portForward);
      },
      secret: ic.secret,
      software: `tpv-daemon/${RELAY_VERSION}`,
      session: {
        handleOpen: inboundDialer({
          localPortFor: (appPort) => (appPort === ic.appPort ? ic.localPort : undefined),
          log: (level, m) => log[level](m),
          onConnection: (outcome) => { ic.connections[outcome]++; },
        }),
      },
      log: (level, m) => log[level](m),
    });
    sup.start();
    ic.tunnels.set(pod, sup);
    return sup;
  }

  private async openTunnels(ic: ActiveIntercept, pods: string[], timeoutMs: number): Promise<void> {
    await Promise.all(pods.map((p) => this.openTunnel(ic, p).waitUntilUp(timeoutMs).catch((e: Error) => {
      throw new Error(`the tunnel to the agent in pod ${ic.namespace}/${p} did not come up: ${e.message}`);
    })));
  }

  private async closeTunnels(ic: ActiveIntercept): Promise<void> {
    const all = [...ic.tunnels.values()];
    ic.tunnels.clear();
    await Promise.all(all.map((t) => t.stop('the intercept ended')));
  }

  /** Follows the workload's pods while the intercept is held: a tunnel to every ready agent, none to pods gone. */
  private async reconcile(ic: ActiveIntercept): Promise<void> {
    if (!this.active.has(`${ic.namespace}/${ic.name}`) || ic.tearingDown) return;
    let pods: V1Pod[];
    try {
      pods = await this.listPods(ic.namespace, ic.selector);
    } catch (e) {
      this.log.debug(`cannot list the pods of ${ic.namespace}/${ic.name}: ${(e as Error).message}`);
      return;
    }
    // The leave may have begun while the pods were listed: its closed tunnels stay closed.
    if (!this.active.has(`${ic.namespace}/${ic.name}`) || ic.tearingDown) return;
    const want = new Set(agentRollout(pods).agentPods);
    for (const p of want) if (!ic.tunnels.has(p)) { this.log.info(`agent pod ${ic.namespace}/${p} appeared; opening its tunnel`); this.openTunnel(ic, p); }
    for (const [p, t] of ic.tunnels) {
      if (want.has(p)) continue;
      ic.tunnels.delete(p);
      this.log.info(`agent pod ${ic.namespace}/${p} is gone or not ready; closing its tunnel`);
      void t.stop('the agent pod went away');
    }
  }
}

/** The service as it was before any redirect of ours. */
function withOriginalPorts(service: V1Service): V1Service {
  const ports = restoreServicePorts(service);
  if (!ports) return service;
  const annotations = { ...service.metadata?.annotations };
  delete annotations[ORIGINAL_TARGET_PORTS_ANNOTATION];
  return { ...service, metadata: { ...service.metadata, annotations }, spec: { ...service.spec, ports } };
}

/** Removes every agent the user can see; see InterceptManager.uninstallAgents. */
export async function uninstallAgents(api: KubeJson, fallbackNamespaces: string[], log: ScopedLogger): Promise<string[]> {
  const removed: string[] = [];
  let scopes: Array<string | undefined> = [undefined];
  try {
    await api.get('/api/v1/services?limit=1');
  } catch {
    // Cannot list across namespaces: the namespaces we know of are the best we can do.
    scopes = [...new Set(fallbackNamespaces)];
    log.info(`cannot list all namespaces; removing agents from ${scopes.join(', ')} only`);
  }
  const namespaces = new Set<string>();
  for (const scope of scopes) {
    for (const svc of await redirectedServices(api, scope)) {
      if (await restoreService(api, svc.metadata!.namespace!, svc.metadata!.name!)) removed.push(`service ${svc.metadata!.namespace}/${svc.metadata!.name} (target ports restored)`);
    }
    for (const w of await agentWorkloads(api, scope)) {
      const ns = w.object.metadata.namespace!;
      const name = w.object.metadata.name!;
      namespaces.add(ns);
      if (await restoreWorkloadTemplate(api, w.kindInfo, ns, name)) removed.push(`agent in ${w.kindInfo.kind.toLowerCase()} ${ns}/${name}`);
    }
    if (scope === undefined) for (const ns of await namespacesWithAgentObjects(api).catch(() => [])) namespaces.add(ns);
    else namespaces.add(scope);
  }
  for (const ns of namespaces) removed.push(...await removeAgentObjectsIfUnused(api, ns));
  return removed;
}
