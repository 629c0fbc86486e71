// The pod status a kubelet reports, computed from what it knows about each
// container. Pure, so the phase/condition rules are unit tested.

/** JSON shapes as sent to the API server (timestamps are RFC 3339 strings on the wire). */
export interface PodCondition { type: string; status: 'True' | 'False'; lastTransitionTime: string; reason?: string; message?: string }
export type ContainerStateJson =
  | { waiting: { reason: string; message?: string } }
  | { running: { startedAt: string } }
  | { terminated: { exitCode: number; signal?: number; reason: string; message?: string; startedAt: string; finishedAt: string } };
export interface ContainerStatusJson {
  name: string; image: string; imageID: string; containerID?: string; ready: boolean; started: boolean;
  restartCount: number; state: ContainerStateJson; lastState: ContainerStateJson | Record<string, never>;
}
export interface PodStatusJson {
  phase: string; conditions: PodCondition[]; hostIP: string; hostIPs: Array<{ ip: string }>;
  podIP?: string; podIPs?: Array<{ ip: string }>; startTime: string; qosClass: string; containerStatuses: ContainerStatusJson[];
}

export type ContainerRuntimeState =
  | { state: 'waiting'; reason: string; message?: string }
  | { state: 'running'; startedAt: string }
  | { state: 'terminated'; exitCode: number; signal?: number; reason: string; startedAt: string; finishedAt: string; message?: string };

export interface ContainerReport {
  name: string;
  image: string;
  containerID?: string;
  current: ContainerRuntimeState;
  last?: ContainerRuntimeState;
  restartCount: number;
  ready: boolean;
  /** Whether it ever ran (a pod with a never-started container is still Pending). */
  everStarted: boolean;
}

export interface PodReport {
  podIP?: string;
  hostIP: string;
  startTime: string;
  restartPolicy: string;
  containers: ContainerReport[];
  /** Previous conditions, so unchanged ones keep their lastTransitionTime. */
  previous?: PodCondition[];
  now: string;
}

function stateObject(s: ContainerRuntimeState): ContainerStateJson {
  switch (s.state) {
    case 'waiting': return { waiting: { reason: s.reason, ...(s.message ? { message: s.message } : {}) } };
    case 'running': return { running: { startedAt: s.startedAt } };
    case 'terminated': return {
      terminated: {
        exitCode: s.exitCode, reason: s.reason, startedAt: s.startedAt, finishedAt: s.finishedAt,
        ...(s.signal !== undefined ? { signal: s.signal } : {}), ...(s.message ? { message: s.message } : {}),
      },
    };
  }
}

export function podPhase(r: Pick<PodReport, 'containers' | 'restartPolicy'>): 'Pending' | 'Running' | 'Succeeded' | 'Failed' {
  const cs = r.containers;
  if (cs.length === 0 || cs.some((c) => !c.everStarted)) return 'Pending';
  const restarts = r.restartPolicy === 'Always' || r.restartPolicy === undefined;
  const allTerminated = cs.every((c) => c.current.state === 'terminated');
  if (!restarts && allTerminated) {
    const failed = cs.some((c) => c.current.state === 'terminated' && c.current.exitCode !== 0);
    if (r.restartPolicy === 'Never') return failed ? 'Failed' : 'Succeeded';
    if (!failed) return 'Succeeded';
  }
  return 'Running';
}

function condition(type: string, ok: boolean, now: string, previous: PodCondition[] | undefined, reason?: string): PodCondition {
  const status = ok ? 'True' : 'False';
  const prev = previous?.find((c) => c.type === type);
  const lastTransitionTime = prev && prev.status === status ? prev.lastTransitionTime : now;
  return { type, status, lastTransitionTime: lastTransitionTime!, ...(ok || !reason ? {} : { reason }) };
}

export function podStatus(r: PodReport): PodStatusJson {
  const phase = podPhase(r);
  const allReady = r.containers.length > 0 && r.containers.every((c) => c.ready);
  const notReady = r.containers.filter((c) => !c.ready).map((c) => c.name);
  const message = notReady.length ? `containers with unready status: [${notReady.join(' ')}]` : undefined;
  const conditions: PodCondition[] = [
    condition('PodReadyToStartContainers', r.podIP !== undefined, r.now, r.previous),
    condition('Initialized', true, r.now, r.previous),
    { ...condition('Ready', allReady, r.now, r.previous, 'ContainersNotReady'), ...(message && !allReady ? { message } : {}) },
    { ...condition('ContainersReady', allReady, r.now, r.previous, 'ContainersNotReady'), ...(message && !allReady ? { message } : {}) },
    condition('PodScheduled', true, r.now, r.previous),
  ];
  return {
    phase,
    conditions,
    hostIP: r.hostIP,
    hostIPs: [{ ip: r.hostIP }],
    ...(r.podIP ? { podIP: r.podIP, podIPs: [{ ip: r.podIP }] } : {}),
    startTime: r.startTime,
    qosClass: 'BestEffort',
    containerStatuses: r.containers.map((c) => ({
      name: c.name,
      image: c.image,
      imageID: c.everStarted ? `lab://${c.image}` : '',
      ...(c.containerID ? { containerID: c.containerID } : {}),
      ready: c.ready,
      started: c.current.state === 'running',
      restartCount: c.restartCount,
      state: stateObject(c.current),
      lastState: c.last ? stateObject(c.last) : {},
    })),
  };
}
