// `up`, `down` and `status` of a lab, as functions (tests and the benchmark
// call them in-process) and behind `npm run lab -- up|down|status`; also the
// API server restart the reliability suites inject (`restart-apiserver`).
//
// `down` must work whatever state `up` left: it reads nothing it cannot do
// without. It asks the control plane to stop its pods, then kills whatever
// still runs in the lab's namespaces or names its state directory, deletes
// every namespace named `<name>-ws|node|vpn|p-*`, their /etc/netns entries,
// the mount-target directories recorded in host-dirs.json, and the state
// directory. Nothing of the lab lives in the host's own network namespace.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { ApiServerRestart } from './contracts';
import type { ControlPlaneStatus, PodSummary, ServiceSummary } from './controlPlane';
import { labFiles } from './labFiles';
import { labScript } from './labEntry';
import { belongsToLab, LAB_STATE_ROOT, labNetnsNames, planLab, validateLabName, type LabOptions, type LabPlan } from './labPlan';
import { createLabNetwork } from './network/labNetwork';
import { listNetns, run } from './network/run';

export interface LabInfo {
  name: string;
  kubeconfig: string;
  workstationNetns: string;
  nodeNetns: string;
  vpnNetns: string;
  podNetnsPrefix: string;
  nodeName: string;
  apiServer: string;
  serviceCidr: string;
  podCidr: string;
  clusterDomain: string;
  clusterDns: string;
  vpnCidrs: string[];
  vpnDevice: string;
  vpnGateway: string;
  vpnHost: string;
  vpnHostName: string;
  vpnDns: string;
  namespaces: string[];
  services: ServiceSummary[];
  pods: PodSummary[];
  stateDir: string;
  controlPlanePid: number;
  /** True when `up` found the lab already running and changed nothing. */
  alreadyRunning: boolean;
}

export interface LabStatus {
  name: string;
  running: boolean;
  phase: ControlPlaneStatus['phase'] | 'absent' | 'dead';
  step?: string;
  error?: string;
  netns: string[];
  stateDir: string | null;
  pods: PodSummary[];
  info: LabInfo | null;
}

export interface UpOptions extends LabOptions {
  /** Progress lines (default: none). */
  progress?: (line: string) => void;
  /** Keep what was made when `up` fails (default: remove it). */
  keepOnFailure?: boolean;
  timeoutMs?: number;
}

interface Manifest {
  plan: LabPlan;
  createdAt: string;
}

function controlRequest<T>(socket: string, method: string, path: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: socket, method, path, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        if (res.statusCode !== 200) { reject(new Error(`control plane answered ${res.statusCode}${body.trim() ? `: ${body.trim()}` : ''}`)); return; }
        try { resolve((body.startsWith('{') ? JSON.parse(body) : body) as T); } catch (err) { reject(err as Error); }
      });
    });
    req.on('timeout', () => req.destroy(new Error('control plane did not answer')));
    req.on('error', reject);
    req.end();
  });
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try { process.kill(pid, 0); return true; } catch { return false; }
}

function spawnDetached(netns: string, args: string[], logFile: string): number {
  const log = openSync(logFile, 'a');
  // nsenter switches only the network namespace: the process stays in the host's mount
  // namespace, so the pod namespaces it creates (`ip netns add`) are visible to everyone.
  const child = spawn('nsenter', [`--net=/run/netns/${netns}`, '--', process.execPath, labScript(), ...args], { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  child.unref();
  if (!child.pid) throw new Error(`could not start ${args[0]} in ${netns}`);
  return child.pid;
}

function tail(file: string, lines = 15): string {
  try { return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n'); } catch { return '(no log)'; }
}

function infoFrom(plan: LabPlan, st: ControlPlaneStatus, alreadyRunning: boolean): LabInfo {
  const f = labFiles(plan.stateDir);
  return {
    name: plan.name,
    kubeconfig: f.kubeconfig,
    workstationNetns: plan.netns.workstation,
    nodeNetns: plan.netns.node,
    vpnNetns: plan.netns.vpn,
    podNetnsPrefix: plan.netns.podPrefix,
    nodeName: plan.nodeName,
    apiServer: plan.apiServer.url,
    serviceCidr: plan.serviceCidr,
    podCidr: plan.podCidr,
    clusterDomain: plan.clusterDomain,
    clusterDns: plan.kubeDnsIp,
    vpnCidrs: plan.vpnCidrs,
    vpnDevice: plan.vpnLink.workstationDevice,
    vpnGateway: plan.vpnLink.gateway,
    vpnHost: plan.vpnHost,
    vpnHostName: plan.vpnHostName,
    vpnDns: plan.vpnDns,
    namespaces: st.namespaces,
    services: st.services,
    pods: st.pods,
    stateDir: plan.stateDir,
    controlPlanePid: st.pid,
    alreadyRunning,
  };
}

export async function labUp(opts: UpOptions = {}): Promise<LabInfo> {
  const plan = planLab(opts);
  const f = labFiles(plan.stateDir);
  const progress = opts.progress ?? (() => undefined);

  const existing = await labStatus(plan.name);
  if (existing.running && existing.phase === 'ready' && existing.info) {
    const want = { serviceCidr: plan.serviceCidr, podCidr: plan.podCidr, vpnCidrs: plan.vpnCidrs.join(',') };
    const have = { serviceCidr: existing.info.serviceCidr, podCidr: existing.info.podCidr, vpnCidrs: existing.info.vpnCidrs.join(',') };
    if (JSON.stringify(want) !== JSON.stringify(have)) {
      throw new Error(`lab "${plan.name}" is already running with ${JSON.stringify(have)}; run \`npm run lab -- down --name ${plan.name}\` first to change it`);
    }
    progress(`lab "${plan.name}" is already running`);
    return { ...existing.info, alreadyRunning: true };
  }
  if (existing.netns.length > 0 || existing.stateDir) {
    progress(`removing the leftovers of an earlier lab "${plan.name}" (${existing.phase})`);
    await labDown(plan.name);
  }

  const started = Date.now();
  try {
    mkdirSync(f.logsDir, { recursive: true });
    writeFileSync(f.manifest, JSON.stringify({ plan, createdAt: new Date().toISOString() } satisfies Manifest, null, 2));
    progress(`creating namespaces ${plan.netns.workstation}, ${plan.netns.node}, ${plan.netns.vpn}`);
    await createLabNetwork(plan);
    progress('starting the corporate DNS and web server behind the VPN');
    writeFileSync(f.corporatePid, String(spawnDetached(plan.netns.vpn, ['corporate', plan.stateDir], f.corporateLog)));
    progress('starting the control plane (API server, kubelet, kube-proxy, DNS)');
    const cpPid = spawnDetached(plan.netns.node, ['control-plane', plan.stateDir], f.controlPlaneLog);
    writeFileSync(f.controlPlanePid, String(cpPid));

    const deadline = Date.now() + (opts.timeoutMs ?? 150_000);
    let lastStep = '';
    for (;;) {
      if (!alive(cpPid)) throw new Error(`the control plane exited during start-up; its log ends with:\n${tail(f.controlPlaneLog)}`);
      const st = await controlRequest<ControlPlaneStatus>(f.controlSocket, 'GET', '/status', 2000).catch(() => undefined);
      if (st) {
        if (st.step !== lastStep) { lastStep = st.step; progress(st.step); }
        if (st.phase === 'failed') throw new Error(`the control plane failed: ${st.error}\nits log ends with:\n${tail(f.controlPlaneLog)}`);
        if (st.phase === 'ready') {
          const info = infoFrom(plan, st, false);
          writeFileSync(f.info, JSON.stringify(info, null, 2));
          progress(`lab "${plan.name}" is up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
          return info;
        }
      }
      if (Date.now() > deadline) throw new Error(`the lab was not ready in time (last step: ${lastStep || 'none'}); the control plane log ends with:\n${tail(f.controlPlaneLog)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    if (!opts.keepOnFailure) {
      progress('up failed: removing what it made (pass --keep to inspect it instead)');
      await labDown(plan.name).catch(() => undefined);
    }
    throw err;
  }
}

/** Processes whose command line names the lab's state directory (control plane, corporate services, echo images). */
function processesOf(stateDir: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv.includes(stateDir)) out.push(Number(entry));
    } catch { /* exited */ }
  }
  return out;
}

async function waitGone(pids: number[], ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

function labNetnsPresent(name: string): string[] {
  const n = labNetnsNames(name);
  return listNetns().filter((ns) => belongsToLab(name, ns) && (ns === n.workstation || ns === n.node || ns === n.vpn || ns.startsWith(n.podPrefix)));
}

export async function labDown(name: string): Promise<{ removedNetns: string[] }> {
  validateLabName(name);
  const stateDir = `${LAB_STATE_ROOT}/${name}`;
  const f = labFiles(stateDir);
  const presentAtStart = labNetnsPresent(name);

  // 1. Let the control plane stop its pods gracefully (bounded).
  if (existsSync(f.controlSocket)) {
    await controlRequest(f.controlSocket, 'POST', '/shutdown', 15_000).catch(() => undefined);
    await waitGone([readPid(f.controlPlanePid) ?? 0], 3000);
  }
  // 2. Kill whatever is left: our processes by pid file and command line, then everything inside our namespaces.
  const ours = [readPid(f.controlPlanePid), readPid(f.corporatePid), ...processesOf(stateDir)].filter((p): p is number => alive(p));
  for (const pid of ours) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  const netns = labNetnsPresent(name);
  for (const ns of netns) {
    const pids = (await run('ip', ['netns', 'pids', ns]).catch(() => '')).split(/\s+/).filter(Boolean).map(Number);
    for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } ours.push(pid); }
  }
  await waitGone(ours, 3000);
  // 3. Namespaces (their interfaces and nft tables go with them) and /etc/netns entries.
  for (const ns of netns) await run('ip', ['netns', 'delete', ns]).catch(() => undefined);
  const n = labNetnsNames(name);
  try {
    for (const entry of readdirSync('/etc/netns')) {
      if (belongsToLab(name, entry) && (entry === n.workstation || entry === n.node || entry === n.vpn || entry.startsWith(n.podPrefix))) {
        rmSync(`/etc/netns/${entry}`, { recursive: true, force: true });
      }
    }
  } catch { /* no /etc/netns */ }
  // 4. Mount-target directories the kubelet had to create on the host.
  try {
    const dirs = JSON.parse(readFileSync(f.hostDirs, 'utf8')) as string[];
    for (const d of [...dirs].sort((a, b) => b.length - a.length)) { try { rmdirSync(d); } catch { /* not empty or gone */ } }
  } catch { /* none recorded */ }
  // 5. State.
  rmSync(stateDir, { recursive: true, force: true });
  try { rmdirSync(LAB_STATE_ROOT); } catch { /* other labs, or already gone */ }
  return { removedNetns: [...new Set([...presentAtStart, ...netns])].sort() };
}

/**
 * Restarts the lab's API server as a new process over the same etcd (see
 * ApiServerHandle.restart): every connection is cut, connections are refused
 * for `downMs`, then it listens again. Resolves once it does, with the times
 * (epoch ms) it went down and came back.
 */
export async function restartApiServer(name: string, downMs: number): Promise<ApiServerRestart> {
  validateLabName(name);
  const f = labFiles(`${LAB_STATE_ROOT}/${name}`);
  if (!existsSync(f.controlSocket)) throw new Error(`lab "${name}" is not running (no ${f.controlSocket})`);
  return controlRequest<ApiServerRestart>(f.controlSocket, 'POST', `/restart-apiserver?downMs=${downMs}`, downMs + 30_000);
}

export async function labStatus(name: string): Promise<LabStatus> {
  validateLabName(name);
  const stateDir = `${LAB_STATE_ROOT}/${name}`;
  const f = labFiles(stateDir);
  const netns = labNetnsPresent(name);
  const hasState = existsSync(stateDir);
  let info: LabInfo | null = null;
  try { info = JSON.parse(readFileSync(f.info, 'utf8')) as LabInfo; } catch { /* not up (yet) */ }
  const pid = readPid(f.controlPlanePid);
  const st = alive(pid) && existsSync(f.controlSocket) ? await controlRequest<ControlPlaneStatus>(f.controlSocket, 'GET', '/status', 2000).catch(() => undefined) : undefined;
  const phase: LabStatus['phase'] = st ? st.phase : hasState || netns.length ? 'dead' : 'absent';
  return {
    name,
    running: !!st && st.phase !== 'stopping',
    phase,
    ...(st ? { step: st.step } : {}),
    ...(st?.error ? { error: st.error } : {}),
    netns,
    stateDir: hasState ? stateDir : null,
    pods: st?.pods ?? [],
    info: info && st ? { ...info, pods: st.pods } : info,
  };
}
