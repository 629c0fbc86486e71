// Finds the machine's daemon or starts one: several windows (and `tpv`) share
// the daemon that is already running as long as it is not older than they are.
import { PROTOCOL_VERSION } from '../../daemon/protocol/rpc';
import { DaemonClient, isDaemonListening, type DaemonClientOptions } from './daemonClient';
import { ClientTooOld, DaemonLaunchFailed, DaemonNotRunning } from './daemonErrors';
import { startDaemon, type DaemonLauncher } from './daemonLauncher';
import { decideHandshake } from './handshake';
import type { DaemonLaunchSpec } from './launchCommands';

export interface EnsureDaemonOptions extends DaemonClientOptions {
  /** This client's release; an older daemon is replaced by ours. */
  clientVersion: string;
  spec: DaemonLaunchSpec;
  /** Picks the launcher once a launch is needed (e.g. after a fallback decision). */
  launcher: () => DaemonLauncher | Promise<DaemonLauncher>;
  /** Asked before anything is started as root; false = the user declined. */
  consent: (why: 'start' | 'replace', detail?: string) => Promise<boolean>;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface EnsuredDaemon {
  client: DaemonClient;
  /** How the daemon came to be: found running, freshly started, or started in place of an older one. */
  origin: 'running' | 'started' | 'replaced';
}

export class ConsentDeclined extends Error {
  override readonly name = 'ConsentDeclined';
  constructor() {
    super('The Telepresence daemon was not started: permission to change the network settings was declined. Nothing was changed.');
  }
}

export async function ensureDaemon(opts: EnsureDaemonOptions): Promise<EnsuredDaemon> {
  const ours = { version: opts.clientVersion, protocolVersion: PROTOCOL_VERSION };
  let origin: EnsuredDaemon['origin'] = 'started';
  let replaceReason: string | undefined;
  try {
    const client = await DaemonClient.connect(opts);
    const found = await client.version();
    const decision = decideHandshake(found, ours);
    if (decision.action === 'use') return { client, origin: 'running' };
    if (decision.action === 'client-too-old') { client.dispose(); throw new ClientTooOld(decision.reason); }
    replaceReason = decision.reason;
    if (!(await opts.consent('replace', decision.reason))) { client.dispose(); throw new ConsentDeclined(); }
    await client.quit({});
    client.dispose();
    await waitUntil(async () => !(await isDaemonListening(opts.socketPath)), 15_000, `the old daemon (pid ${found.pid}) did not stop within 15 s; stop it with \`sudo kill ${found.pid}\``);
    origin = 'replaced';
  } catch (e) {
    if (!(e instanceof DaemonNotRunning)) throw e;
  }
  if (origin !== 'replaced' && !(await opts.consent('start'))) throw new ConsentDeclined();
  await startDaemon({
    launcher: await opts.launcher(),
    spec: opts.spec,
    isReady: () => isDaemonListening(opts.socketPath),
    timeoutMs: opts.timeoutMs,
    signal: opts.signal,
  });
  // The socket accepts before the owner's permissions are set on it: retry briefly.
  let client: DaemonClient | undefined;
  let lastError: unknown;
  for (let i = 0; i < 20 && !client; i++) {
    try { client = await DaemonClient.connect(opts); } catch (e) { lastError = e; await sleep(100); }
  }
  if (!client) throw lastError instanceof Error ? lastError : new DaemonNotRunning(opts.socketPath);
  const started = await client.version();
  if (decideHandshake(started, ours).action !== 'use') {
    client.dispose();
    throw new DaemonLaunchFailed(`The daemon that answered after the start is version ${started.version} (protocol ${started.protocolVersion}), not ${ours.version}${replaceReason ? ` (${replaceReason})` : ''}; quit it with \`tpv quit\` and retry.`);
  }
  return { client, origin };
}

async function waitUntil(cond: () => Promise<boolean>, timeoutMs: number, failure: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new DaemonLaunchFailed(failure);
    await sleep(150);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
