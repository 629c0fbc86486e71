// Which cluster `tpv connect` talks to, with credentials resolved as the
// invoking user. Under sudo, a kubeconfig with credential plugins is
// flattened by a child process running as that user: plugins never run as root.
import { spawnSync } from 'node:child_process';
import { homedir } from 'node:os';
import { loadMergedKubeconfig } from '../client/kube/kubeconfigMerge';
import { kubeconfigPaths } from '../client/kube/kubeconfigPaths';
import { flattenKubeconfig, type FlattenedKubeconfig } from '../client/kube/flattenKubeconfig';
import type { CliEnvironment } from './dispatcher';

export interface KubeconfigChoice {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

export const INTERNAL_FLATTEN = '__flatten-kubeconfig';

function homeOf(env: CliEnvironment): string {
  return env.env.HOME || homedir();
}

export async function flattenChoice(choice: KubeconfigChoice, env: CliEnvironment): Promise<FlattenedKubeconfig> {
  const paths = kubeconfigPaths({ explicit: choice.kubeconfig, env: env.env, home: homeOf(env) });
  const merged = loadMergedKubeconfig(paths, env.readFile);
  if (merged.files.length === 0) throw new Error(`no kubeconfig found (looked at ${paths.join(', ')}); pass --kubeconfig`);
  const context = choice.context || merged.config['current-context'];
  if (!context) throw new Error(`the kubeconfig has no current context; pass --context (one of: ${(merged.config.contexts ?? []).map((c) => c.name).join(', ')})`);
  const usesPlugin = (merged.config.users ?? []).some((u) => u.user?.exec || u.user?.['auth-provider']);
  const sudoUid = env.env.SUDO_UID;
  if (process.getuid?.() === 0 && sudoUid && usesPlugin) return flattenAsUser(Number(sudoUid), Number(env.env.SUDO_GID ?? sudoUid), { ...choice, context }, paths, env);
  return flattenKubeconfig(merged.config, context, choice.namespace);
}

function flattenAsUser(uid: number, gid: number, choice: KubeconfigChoice, paths: string[], env: CliEnvironment): FlattenedKubeconfig {
  const args = [process.argv[1]!, INTERNAL_FLATTEN, '--kubeconfig', paths.join(':'), '--context', choice.context!];
  if (choice.namespace) args.push('--namespace', choice.namespace);
  const r = spawnSync(process.execPath, args, { uid, gid, encoding: 'utf8', env: { ...env.env, HOME: env.env.SUDO_HOME ?? env.env.HOME }, timeout: 120_000 });
  if (r.status !== 0) throw new Error(`resolving credentials as uid ${uid} failed: ${(r.stderr || r.error?.message || '').trim()}`);
  return JSON.parse(r.stdout) as FlattenedKubeconfig;
}
