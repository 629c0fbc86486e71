// The user's kubeconfig as kubectl would see it from this window, read fresh
// on each use (files change under us when users switch contexts).
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { kubeconfigPaths } from '../../client/kube/kubeconfigPaths';
import { loadMergedKubeconfig, type MergedKubeconfig } from '../../client/kube/kubeconfigMerge';
import { readSettings } from '../settings';

export function loadUserKubeconfig(): MergedKubeconfig {
  const paths = kubeconfigPaths({ explicit: readSettings().kubeconfig, env: process.env, home: homedir() });
  const merged = loadMergedKubeconfig(paths, (p) => readFileSync(p, 'utf8'));
  if (merged.files.length === 0) {
    throw new Error(`No kubeconfig found (looked at ${paths.join(', ')}). Set "telepresence.kubeconfig" or KUBECONFIG to your cluster's kubeconfig.`);
  }
  return merged;
}
