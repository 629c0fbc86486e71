// Where the rollout of an agent injection (or its removal) stands, read from
// the workload's pods. Pure: the daemon polls the pods and asks this module
// whether to go on waiting, and why, in words that name the pod.
import type { V1Pod } from '@kubernetes/client-node';
import { podProblem } from '../cluster/relayInstaller';
import { AGENT_ANNOTATION, AGENT_CONTAINER } from './agentInjection';

export interface AgentRollout {
  /** Ready pods that run the agent: the daemon opens a tunnel to each. */
  agentPods: string[];
  /** Every live pod of the workload runs a ready agent (and there is at least one). */
  complete: boolean;
  /** Why it is not complete, naming the pod; empty when complete. */
  waitingFor: string;
}

export function isLive(p: V1Pod): boolean {
  return !p.metadata?.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';
}

export function runsAgent(p: V1Pod): boolean {
  return (p.spec?.containers ?? []).some((c) => c.name === AGENT_CONTAINER);
}

export function isReady(p: V1Pod): boolean {
  return p.status?.phase === 'Running' && !!p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Why a pod that runs the agent is not ready. */
export function agentPodProblem(p: V1Pod): string {
  const name = p.metadata?.name ?? '?';
  const problem = podProblem(p);
  if (problem) return `pod ${name}: ${problem}`;
  const agent = p.status?.containerStatuses?.find((c) => c.name === AGENT_CONTAINER);
  if (agent?.state?.terminated) return `pod ${name}: container ${AGENT_CONTAINER} exited with code ${agent.state.terminated.exitCode}${agent.state.terminated.reason ? ` (${agent.state.terminated.reason})` : ''}`;
  if (agent?.state?.running && !agent.ready) return `pod ${name}: container ${AGENT_CONTAINER} runs but is not ready (its readiness probe on /healthz fails)`;
  const notReady = (p.status?.containerStatuses ?? []).filter((c) => !c.ready).map((c) => c.name);
  if (p.status?.phase === 'Running' && notReady.length) return `pod ${name}: container(s) ${notReady.join(', ')} not ready`;
  return `pod ${name} is ${p.status?.phase ?? 'Pending'}`;
}

/**
 * `expected`: the agent annotation the new template carries, when the pods
 * run an agent already and only another one counts as rolled out (the
 * --proxy-via agent turned into an intercept's agent, and back).
 */
export function agentRollout(pods: V1Pod[], expected?: string): AgentRollout {
  const live = pods.filter(isLive).sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  const current = (p: V1Pod) => runsAgent(p) && (expected === undefined || p.metadata?.annotations?.[AGENT_ANNOTATION] === expected);
  const withAgent = live.filter(current);
  const agentPods = withAgent.filter(isReady).map((p) => p.metadata!.name!);
  const notReady = withAgent.filter((p) => !isReady(p));
  const old = live.filter((p) => !current(p));
  let waitingFor = '';
  if (notReady.length > 0) waitingFor = agentPodProblem(notReady[0]!);
  else if (withAgent.length === 0) waitingFor = live.length === 0 ? 'no pod of the workload exists (is it scaled to 0?)' : `no pod runs the agent yet (${live.length} pod(s) of the previous template still run)`;
  else if (old.length > 0) waitingFor = `pod ${old[0]!.metadata?.name} (without ${expected === undefined ? 'the' : 'this'} agent) still runs; the rollout is not finished`;
  return { agentPods, complete: waitingFor === '', waitingFor };
}

/** True once no live pod of the workload runs the agent (after leave). */
export function agentRemoved(pods: V1Pod[]): boolean {
  return !pods.filter(isLive).some(runsAgent);
}
