// Which kubeconfig files apply, in kubectl's order: the
// `telepresence.kubeconfig` setting (or --kubeconfig) wins over $KUBECONFIG,
// which wins over ~/.kube/config.
import { delimiter as hostDelimiter, join } from 'node:path';

export interface KubeconfigPathInputs {
  /** `telepresence.kubeconfig` / `--kubeconfig`; may itself be a list. */
  explicit?: string;
  env?: NodeJS.ProcessEnv;
  home: string;
  /** ':' on POSIX, ';' on Windows. */
  delimiter?: string;
}

export function kubeconfigPaths(inputs: KubeconfigPathInputs): string[] {
  const delimiter = inputs.delimiter ?? hostDelimiter;
  const split = (list: string) => list.split(delimiter).map((p) => p.trim()).filter((p) => p !== '');
  const expandHome = (p: string) => (p === '~' ? inputs.home : p.startsWith('~/') ? join(inputs.home, p.slice(2)) : p);
  const fromSetting = inputs.explicit ? split(inputs.explicit) : [];
  if (fromSetting.length > 0) return dedupe(fromSetting.map(expandHome));
  const fromEnv = inputs.env?.KUBECONFIG ? split(inputs.env.KUBECONFIG) : [];
  if (fromEnv.length > 0) return dedupe(fromEnv.map(expandHome));
  return [join(inputs.home, '.kube', 'config')];
}

function dedupe(paths: string[]): string[] {
  return [...new Set(paths)];
}
