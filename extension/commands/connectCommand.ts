// Telepresence: Connect — context, then namespace (last used first), then
// optionally routing flags; flattens the kubeconfig as the user, starts the
// daemon after consent, and connects with a cancellable progress notification.
import * as vscode from 'vscode';
import { listContexts, type ContextSummary } from '../../client/kube/kubeconfigMerge';
import { buildConnectParams, parseRoutingFlagsText } from '../../client/connect/connectParams';
import { loadUserKubeconfig } from '../kube/userKubeconfig';
import { readRoutingSettings, readSettings } from '../settings';
import type { Services } from '../services';
import type { ConsentFactsProvider } from '../daemon/daemonSession';
import { recentFirst, remember } from './recentFirst';
import { withDeadline } from '../../daemon/deadline';

export interface ConnectArgs {
  context?: string;
  namespace?: string;
  /** Routing flags as typed on tpv's command line. */
  flags?: string;
}

const RECENT_CONTEXTS = 'telepresence.recentContexts';
const recentNamespacesKey = (context: string) => `telepresence.recentNamespaces.${context}`;

class Canceled extends Error { override readonly name = 'Canceled'; }

export async function connectCommand(s: Services, args: ConnectArgs = {}): Promise<void> {
  const merged = loadUserKubeconfig();
  const contexts = listContexts(merged.config);
  if (contexts.length === 0) throw new Error(`The kubeconfig (${merged.files.join(', ')}) has no contexts; add one with \`kubectl config set-context\` or set "telepresence.kubeconfig".`);
  const context = args.context ?? (await pickContext(s, contexts));
  const ctx = contexts.find((c) => c.name === context);
  if (!ctx) throw new Error(`kubeconfig context "${context}" does not exist; known contexts: ${contexts.map((c) => c.name).join(', ')}`);

  const { kubeConfigFor, listNamespaces } = await import('../../client/kube/clusterAccess');
  const kc = await kubeConfigFor(merged.config, ctx.name);
  let namespaces: string[] = [];
  const namespace = args.namespace ?? (await (async () => {
    const list = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Listing namespaces of ${ctx.name}` }, () =>
      listNamespaces(kc, ctx.namespace ?? 'default').catch((e: Error) => {
        s.log.warn(`listing namespaces of ${ctx.name}: ${e.message}`);
        return { names: [ctx.namespace ?? 'default'], limited: e.message };
      }));
    namespaces = list.names;
    return pickNamespace(s, ctx, list.names, list.limited);
  })());

  const settings = readSettings();
  let flagsText = args.flags ?? settings.defaultFlags;
  if (args.flags === undefined && settings.askForFlags) {
    const typed = await vscode.window.showInputBox({
      title: 'Telepresence: Connect (3/3) — routing flags',
      prompt: 'Optional, as on the command line: --vnat CIDR|service|pods|also|all, --proxy-via CIDR=WORKLOAD, --also-proxy CIDR, --never-proxy CIDR, --allow-conflicting-subnets CIDR',
      placeHolder: '--vnat all',
      value: flagsText,
      ignoreFocusOut: true,
      validateInput: (v) => { try { parseRoutingFlagsText(v); return undefined; } catch (e) { return (e as Error).message; } },
    });
    if (typed === undefined) throw new Canceled();
    flagsText = typed;
  }
  const flags = parseRoutingFlagsText(flagsText);

  const { loadClientConfig, parseVsCodeRoutingSettings } = await import('../../daemon/config/clientConfig');
  const fileConfig = loadClientConfig();
  const routingLayers = [fileConfig.routing, parseVsCodeRoutingSettings(readRoutingSettings())];
  const { flattenKubeconfig } = await import('../../client/kube/flattenKubeconfig');
  const flat = await flattenKubeconfig(merged.config, ctx.name, namespace);
  const params = buildConnectParams({ kubeconfig: flat.text, context: ctx.name, namespace, flags, routingLayers });

  const facts: ConsentFactsProvider = async () => ({
    device: 'tpv0',
    subnets: [...(await podCidrs(kc, s)), ...(params.routing.alsoProxy ?? []), ...flags.alsoProxy],
    serviceSubnetDiscovered: true,
    context: ctx.name,
    namespaces: namespaces.length ? namespaces : [namespace],
    clusterDomain: 'cluster.local',
  });

  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Telepresence: connecting to ${ctx.name}/${namespace}`, cancellable: true },
    async (progress, token) => {
      const abort = new AbortController();
      const onCancel = token.onCancellationRequested(() => abort.abort());
      try {
        progress.report({ message: 'starting the daemon…' });
        const client = await s.session.ensure(facts, abort.signal);
        if (token.isCancellationRequested) throw new Canceled();
        progress.report({ message: 'discovering subnets and starting the tunnel…' });
        const cancelConnect = token.onCancellationRequested(() => { void client.disconnect().catch(() => undefined); });
        try {
          const status = await client.connectCluster(params);
          if (token.isCancellationRequested) throw new Canceled();
          if (status.connection.state !== 'connected' && status.connection.state !== 'connecting') {
            throw new Error(status.connection.error ?? status.connection.plan?.error ?? `the daemon reports "${status.connection.state}"`);
          }
        } finally {
          cancelConnect.dispose();
        }
      } finally {
        onCancel.dispose();
      }
    },
  );
  await s.context.globalState.update(RECENT_CONTEXTS, remember(s.context.globalState.get<string[]>(RECENT_CONTEXTS, []), ctx.name));
  await s.context.globalState.update(recentNamespacesKey(ctx.name), remember(s.context.globalState.get<string[]>(recentNamespacesKey(ctx.name), []), namespace));
  s.log.info(`connected to ${ctx.name}/${namespace}${fileConfig.found ? ` (routing from ${fileConfig.path} and settings)` : ''}`);
}

async function pickContext(s: Services, contexts: ContextSummary[]): Promise<string> {
  const recent = s.context.globalState.get<string[]>(RECENT_CONTEXTS, []);
  const ordered = recentFirst(contexts, recent.length ? recent : contexts.filter((c) => c.current).map((c) => c.name), (c) => c.name);
  const pick = await vscode.window.showQuickPick(
    ordered.map((c) => ({
      label: c.name,
      description: [c.current ? 'current' : '', recent[0] === c.name ? 'last used' : ''].filter(Boolean).join(', '),
      detail: `${c.server ?? 'no server'} · user ${c.user}${c.namespace ? ` · namespace ${c.namespace}` : ''}`,
    })),
    { title: 'Telepresence: Connect (1/2) — kubeconfig context', placeHolder: 'Pick the cluster to connect to', ignoreFocusOut: true, matchOnDetail: true },
  );
  if (!pick) throw new Canceled();
  return pick.label;
}

async function pickNamespace(s: Services, ctx: ContextSummary, names: string[], limited: string | undefined): Promise<string> {
  const recent = s.context.globalState.get<string[]>(recentNamespacesKey(ctx.name), []);
  const preferred = recent.length ? recent : [ctx.namespace ?? 'default'];
  const ordered = recentFirst(names, preferred, (n) => n);
  const qp = vscode.window.createQuickPick();
  qp.title = 'Telepresence: Connect (2/2) — namespace';
  qp.placeholder = limited ? `Type a namespace (${limited})` : 'Pick the namespace your workloads run in (or type one)';
  qp.ignoreFocusOut = true;
  const base = ordered.map((n) => ({ label: n, description: recent[0] === n ? 'last used' : n === ctx.namespace ? "context's namespace" : '' }));
  qp.items = base;
  qp.onDidChangeValue((v) => {
    const typed = v.trim();
    qp.items = typed && !names.includes(typed) ? [...base, { label: typed, description: 'type to use this namespace' }] : base;
  });
  return new Promise<string>((resolve, reject) => {
    qp.onDidAccept(() => {
      const chosen = qp.selectedItems[0]?.label ?? qp.value.trim();
      if (!chosen) return;
      resolve(chosen);
      qp.hide();
    });
    qp.onDidHide(() => { qp.dispose(); reject(new Canceled()); });
    qp.show();
  });
}

/** Pod CIDRs from the nodes, read as the user, for the consent dialog (best effort, bounded). */
async function podCidrs(kc: import('@kubernetes/client-node').KubeConfig, s: Services): Promise<string[]> {
  try {
    const { CoreV1Api } = await import('../../client/kube/k8s');
    const nodes = await withDeadline(3000, () => kc.makeApiClient(CoreV1Api).listNode({ timeoutSeconds: 3 }), () => new Error('timed out'));
    return [...new Set(nodes.items.flatMap((n) => n.spec?.podCIDRs ?? (n.spec?.podCIDR ? [n.spec.podCIDR] : [])))];
  } catch (e) {
    s.log.debug(`pod CIDRs for the consent dialog: ${(e as Error).message}`);
    return [];
  }
}
