// Loads and merges kubeconfig files the way kubectl does: for every named
// cluster, user and context, and for current-context, the first file that
// sets it wins; relative file paths are resolved against the directory of
// the file that mentions them. Pure apart from the injected readFile.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { RawCluster, RawContext, RawKubeconfig, RawUser } from './kubeconfigTypes';

export interface MergedKubeconfig {
  config: RawKubeconfig;
  /** Files that existed and were merged, in order. */
  files: string[];
  /** Files named in the list that do not exist (kubectl ignores them too). */
  missing: string[];
}

export function parseKubeconfig(text: string, path: string): RawKubeconfig {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new Error(`${path} is not a valid kubeconfig (YAML error: ${(e as Error).message.split('\n')[0]}); fix it or point telepresence.kubeconfig at another file`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${path} is not a kubeconfig (expected a mapping with clusters, users and contexts)`);
  const config = doc as RawKubeconfig;
  for (const key of ['clusters', 'users', 'contexts'] as const) {
    const list = config[key];
    if (list !== undefined && list !== null && !Array.isArray(list)) throw new Error(`${path}: "${key}" must be a list`);
    for (const item of (list ?? []) as unknown[]) {
      if (!item || typeof item !== 'object' || typeof (item as { name?: unknown }).name !== 'string') {
        throw new Error(`${path}: every entry of "${key}" needs a name`);
      }
    }
  }
  return config;
}

/** Makes the relative file references of one file absolute (kubectl's ResolvePaths). */
export function resolveRelativePaths(config: RawKubeconfig, baseDir: string): RawKubeconfig {
  const abs = (p: string | undefined) => (p && !isAbsolute(p) ? resolve(baseDir, p) : p);
  const clusters = config.clusters?.map(({ name, cluster }) => {
    const c: RawCluster = { ...cluster };
    if (c['certificate-authority']) c['certificate-authority'] = abs(c['certificate-authority']);
    return { name, cluster: c };
  });
  const users = config.users?.map(({ name, user }) => {
    const u: RawUser = { ...user };
    for (const key of ['client-certificate', 'client-key', 'tokenFile'] as const) if (u[key]) u[key] = abs(u[key]);
    // An exec command with a path separator is relative to the file; a bare name is looked up in PATH.
    if (u.exec && /[\\/]/.test(u.exec.command) && !isAbsolute(u.exec.command)) u.exec = { ...u.exec, command: resolve(baseDir, u.exec.command) };
    return { name, user: u };
  });
  return { ...config, ...(clusters && { clusters }), ...(users && { users }) };
}

/** kubectl's merge: first file wins per name and for current-context. */
export function mergeKubeconfigs(configs: RawKubeconfig[]): RawKubeconfig {
  const merged: RawKubeconfig = { apiVersion: 'v1', kind: 'Config', clusters: [], users: [], contexts: [] };
  const seen = { clusters: new Set<string>(), users: new Set<string>(), contexts: new Set<string>() };
  for (const c of configs) {
    if (!merged['current-context'] && c['current-context']) merged['current-context'] = c['current-context'];
    for (const entry of c.clusters ?? []) if (!seen.clusters.has(entry.name)) { seen.clusters.add(entry.name); merged.clusters!.push(entry); }
    for (const entry of c.users ?? []) if (!seen.users.has(entry.name)) { seen.users.add(entry.name); merged.users!.push(entry); }
    for (const entry of c.contexts ?? []) if (!seen.contexts.has(entry.name)) { seen.contexts.add(entry.name); merged.contexts!.push(entry); }
  }
  return merged;
}

export function loadMergedKubeconfig(paths: string[], readFile: (path: string) => string): MergedKubeconfig {
  const configs: RawKubeconfig[] = [];
  const files: string[] = [];
  const missing: string[] = [];
  for (const path of paths) {
    let text: string;
    try {
      text = readFile(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') { missing.push(path); continue; }
      throw new Error(`cannot read kubeconfig ${path}: ${(e as Error).message}`);
    }
    configs.push(resolveRelativePaths(parseKubeconfig(text, path), dirname(path)));
    files.push(path);
  }
  return { config: mergeKubeconfigs(configs), files, missing };
}

export interface ContextSummary {
  name: string;
  cluster: string;
  user: string;
  namespace?: string;
  server?: string;
  current: boolean;
}

export function listContexts(config: RawKubeconfig): ContextSummary[] {
  return (config.contexts ?? []).map(({ name, context }) => ({
    name,
    cluster: context?.cluster,
    user: context?.user,
    ...(context?.namespace ? { namespace: context.namespace } : {}),
    ...(findServer(config, context?.cluster) ? { server: findServer(config, context?.cluster)! } : {}),
    current: name === config['current-context'],
  }));
}

export function findContext(config: RawKubeconfig, name: string): RawContext {
  const ctx = config.contexts?.find((c) => c.name === name)?.context;
  if (!ctx) {
    const names = (config.contexts ?? []).map((c) => c.name);
    throw new Error(`kubeconfig context "${name}" does not exist${names.length ? `; known contexts: ${names.join(', ')}` : '; the kubeconfig has no contexts'}`);
  }
  return ctx;
}

function findServer(config: RawKubeconfig, cluster: string | undefined): string | undefined {
  return config.clusters?.find((c) => c.name === cluster)?.cluster?.server;
}

/**
 * kubectl reads `tokenFile` on every request; client-node only knows a
 * `token-file` key. Reading it here (as the user) gives both the same token.
 */
export function inlineTokenFiles(config: RawKubeconfig, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): RawKubeconfig {
  const users = config.users?.map(({ name, user }) => {
    if (!user.tokenFile || user.token) return { name, user };
    let token: string;
    try {
      token = readFile(user.tokenFile).trim();
    } catch (e) {
      throw new Error(`kubeconfig user "${name}": cannot read tokenFile ${user.tokenFile}: ${(e as Error).message}`);
    }
    const { tokenFile: _dropped, ...rest } = user;
    return { name, user: { ...rest, token } };
  });
  return users ? { ...config, users } : config;
}

/** The kubeconfig reduced to one context and the cluster and user it names (other users' files are never read). */
export function onlyContext(config: RawKubeconfig, contextName: string): RawKubeconfig {
  const ctx = findContext(config, contextName);
  return {
    ...config,
    'current-context': contextName,
    clusters: (config.clusters ?? []).filter((c) => c.name === ctx.cluster),
    users: (config.users ?? []).filter((u) => u.name === ctx.user),
    contexts: (config.contexts ?? []).filter((c) => c.name === contextName),
  };
}
