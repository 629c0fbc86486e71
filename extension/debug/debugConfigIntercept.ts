// The `"telepresence"` block of a launch configuration, and what resolving
// such a configuration does to it. Pure: the provider does the I/O.
//
//   { "type": "node", "request": "launch", "program": "${workspaceFolder}/server.js",
//     "telepresence": { "workload": "echo", "namespace": "default", "port": "8080:http" } }
import type { InterceptParams } from '../../daemon/protocol/rpc';

/** Marks a configuration whose env already holds the workload's environment (restarts resolve again). */
export const INJECTED_MARK = '__telepresenceInjected';

export interface TelepresenceLaunchBlock {
  workload: string;
  namespace?: string;
  /** `[LOCAL:]REMOTE`, or a number (local and remote the same). */
  port: string;
  container?: string;
}

export type DebugConfigLike = { type: string; name: string; request: string; [key: string]: unknown };

const DNS1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * The intercept a configuration asks for, undefined when it asks for none or
 * must be left alone (attach requests and child sessions of a debugger —
 * their parent already carries the environment — and configurations resolved
 * before). Throws with what to fix when the block is malformed.
 */
export function interceptRequest(config: DebugConfigLike, defaultNamespace: string | undefined): InterceptParams | undefined {
  const raw = config.telepresence;
  if (raw === undefined || raw === null) return undefined;
  if (config.request !== 'launch') return undefined;
  if (config[INJECTED_MARK] === true) return undefined;
  // js-debug's child sessions carry __pendingTargetId, debugpy's subprocesses `subProcessId`.
  if ('__pendingTargetId' in config || 'subProcessId' in config || '__parentId' in config) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new Error(`"telepresence" in launch configuration "${config.name}" must be an object like { "workload": "echo", "port": "8080" }`);
  }
  const block = raw as Record<string, unknown>;
  const workload = block.workload;
  if (typeof workload !== 'string' || !DNS1123.test(workload)) {
    throw new Error(`"telepresence.workload" in launch configuration "${config.name}" must be the name of a Deployment, ReplicaSet, StatefulSet or Rollout (got ${JSON.stringify(workload)})`);
  }
  const portValue = block.port;
  const port = typeof portValue === 'number' ? String(portValue) : portValue;
  if (typeof port !== 'string' || !/^(\d{1,5}:)?[A-Za-z0-9-]+$/.test(port)) {
    throw new Error(`"telepresence.port" in launch configuration "${config.name}" must be [LOCAL:]REMOTE, e.g. "8080" or "3000:http" (got ${JSON.stringify(portValue)})`);
  }
  const namespace = block.namespace ?? defaultNamespace;
  if (namespace !== undefined && (typeof namespace !== 'string' || !DNS1123.test(namespace))) {
    throw new Error(`"telepresence.namespace" in launch configuration "${config.name}" is not a namespace name (got ${JSON.stringify(namespace)})`);
  }
  const container = block.container;
  if (container !== undefined && (typeof container !== 'string' || !DNS1123.test(container))) {
    throw new Error(`"telepresence.container" in launch configuration "${config.name}" is not a container name (got ${JSON.stringify(container)})`);
  }
  return {
    workload,
    ...(namespace ? { namespace } : {}),
    port,
    mode: 'intercept',
    ...(container ? { container } : {}),
  };
}

/**
 * The configuration the debugger receives: the workload's (mangled)
 * environment under the configuration's own `env`, which wins where both set
 * a variable, because the user wrote it on purpose.
 */
export function withWorkloadEnv(config: DebugConfigLike, workloadEnv: Record<string, string>, sessionKey: string): DebugConfigLike {
  const own = config.env && typeof config.env === 'object' ? (config.env as Record<string, unknown>) : {};
  const env: Record<string, unknown> = { ...workloadEnv };
  for (const [k, v] of Object.entries(own)) env[k] = v;
  return { ...config, env, [INJECTED_MARK]: true, __telepresenceSession: sessionKey };
}

/** A launch configuration for "Intercept and Debug…" in a workspace that has none. */
export function generatedLaunchConfig(language: 'node' | 'python' | 'go', workload: string, namespace: string, port: string): DebugConfigLike {
  const telepresence = { workload, namespace, port };
  const name = `Telepresence: debug ${workload}`;
  switch (language) {
    case 'node':
      return { type: 'node', request: 'launch', name, program: '${file}', skipFiles: ['<node_internals>/**'], telepresence };
    case 'python':
      return { type: 'debugpy', request: 'launch', name, program: '${file}', console: 'integratedTerminal', telepresence };
    case 'go':
      return { type: 'go', request: 'launch', name, mode: 'auto', program: '${fileDirname}', telepresence };
  }
}
