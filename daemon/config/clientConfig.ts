// The client configuration Telepresence users already have
// (`~/.config/telepresence/config.yml`, key `routing.*`, plus the older
// `cluster.virtualIPSubnet`), VS Code's `telepresence.routing.*` settings,
// and how the layers merge. Parsing is pure; only loadClientConfig reads.
//
// Merge rule: config.yml < VS Code settings < command-line flags, the later
// layer wins key by key (a list replaces a list). The list flags
// (--also-proxy, --never-proxy, --allow-conflicting-subnets) are the
// exception: like Telepresence's, they add to the merged lists, which
// planRouting does.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { tryParseCidr } from '../net/cidr';
import type { RoutingConfig } from '../protocol/rpc';

export interface LoadedClientConfig {
  path: string;
  /** false when the file does not exist (not an error: most users have none). */
  found: boolean;
  routing: RoutingConfig;
}

export const ROUTING_LIST_KEYS = ['allowConflictingSubnets', 'alsoProxy', 'neverProxy'] as const;
type RoutingListKey = (typeof ROUTING_LIST_KEYS)[number];

/** Where Telepresence keeps config.yml on each platform. */
export function defaultClientConfigPath(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'telepresence', 'config.yml');
  if (platform === 'win32') return join(env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'telepresence', 'config.yml');
  return join(env.XDG_CONFIG_HOME || join(home, '.config'), 'telepresence', 'config.yml');
}

export interface LoadClientConfigOptions {
  path?: string;
  readFile?: (path: string) => string;
}

export function loadClientConfig(opts: LoadClientConfigOptions = {}): LoadedClientConfig {
  const path = opts.path ?? defaultClientConfigPath();
  const read = opts.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  let text: string;
  try {
    text = read(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { path, found: false, routing: {} };
    throw new Error(`cannot read ${path}: ${(err as Error).message}`);
  }
  return { path, found: true, routing: parseClientConfig(text, path) };
}

/** `routing.*` of a config.yml text; throws naming the file, the key and the value. */
export function parseClientConfig(text: string, path: string): RoutingConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new Error(`${path} is not valid YAML: ${(err as Error).message.split('\n')[0]}; fix the file or move it away`);
  }
  if (doc === null || doc === undefined) return {};
  if (!isRecord(doc)) throw new Error(`${path} must hold a YAML mapping (e.g. "routing:" with keys below it)`);
  const where = `in ${path}`;
  const routing = doc.routing ?? {};
  if (!isRecord(routing)) throw new Error(`routing: ${JSON.stringify(routing)} must be a mapping of keys (${where})`);
  const config = parseRoutingValues(routing, (key) => `routing.${key}`, where, false);
  if (config.virtualSubnet === undefined && isRecord(doc.cluster) && doc.cluster.virtualIPSubnet !== undefined && doc.cluster.virtualIPSubnet !== null) {
    // The key Telepresence used before routing.virtualSubnet; the new one wins when both are set.
    config.virtualSubnet = cidrValue(doc.cluster.virtualIPSubnet, 'cluster.virtualIPSubnet', where);
  }
  return config;
}

/**
 * VS Code's `telepresence.routing.*` values, e.g. the object returned by
 * `workspace.getConfiguration('telepresence.routing')`. Empty values ("",
 * null, []) mean "not set", so the settings' defaults never hide config.yml.
 */
export function parseVsCodeRoutingSettings(settings: Readonly<Record<string, unknown>>): RoutingConfig {
  return parseRoutingValues(settings, (key) => `telepresence.routing.${key}`, 'in the VS Code settings', true);
}

/** Later layers win key by key. */
export function mergeRoutingConfig(...layers: ReadonlyArray<RoutingConfig | undefined>): RoutingConfig {
  const merged: RoutingConfig = {};
  for (const layer of layers) {
    if (!layer) continue;
    if (layer.virtualSubnet !== undefined) merged.virtualSubnet = layer.virtualSubnet;
    if (layer.autoResolveConflicts !== undefined) merged.autoResolveConflicts = layer.autoResolveConflicts;
    for (const key of ROUTING_LIST_KEYS) if (layer[key] !== undefined) merged[key] = [...layer[key]!];
  }
  return merged;
}

function parseRoutingValues(values: Readonly<Record<string, unknown>>, name: (key: string) => string, where: string, emptyIsUnset: boolean): RoutingConfig {
  const config: RoutingConfig = {};
  const unset = (v: unknown) => v === undefined || v === null || (emptyIsUnset && (v === '' || (Array.isArray(v) && v.length === 0)));
  if (!unset(values.virtualSubnet)) config.virtualSubnet = cidrValue(values.virtualSubnet, name('virtualSubnet'), where);
  if (!unset(values.autoResolveConflicts)) config.autoResolveConflicts = booleanValue(values.autoResolveConflicts, name('autoResolveConflicts'), where);
  for (const key of ROUTING_LIST_KEYS) {
    if (!unset(values[key])) config[key as RoutingListKey] = cidrListValue(values[key], name(key), where);
  }
  return config;
}

function cidrValue(value: unknown, key: string, where: string): string {
  if (typeof value !== 'string' || !tryParseCidr(value.trim())) {
    throw new Error(`${key}: ${JSON.stringify(value)} is not a CIDR (${where}); write it as address/prefix, e.g. 246.246.0.0/16`);
  }
  return value.trim();
}

function booleanValue(value: unknown, key: string, where: string): boolean {
  if (typeof value === 'boolean') return value;
  // Helm's --set and hand-edited files sometimes quote booleans.
  if (value === 'true' || value === 'false') return value === 'true';
  throw new Error(`${key}: ${JSON.stringify(value)} is not true or false (${where})`);
}

/** A YAML list, a single CIDR, a comma list, or Helm's "{a,b}" form. */
function cidrListValue(value: unknown, key: string, where: string): string[] {
  let items: unknown[];
  if (Array.isArray(value)) items = value;
  else if (typeof value === 'string') items = value.trim().replace(/^\{(.*)\}$/s, '$1').split(',').map((s) => s.trim()).filter((s) => s !== '');
  else throw new Error(`${key}: ${JSON.stringify(value)} is not a list of CIDRs (${where}); e.g. ${key.split('.').pop()}: [10.128.0.0/9]`);
  return items.map((item) => {
    if (typeof item !== 'string' || !tryParseCidr(item.trim())) {
      throw new Error(`${key}: ${JSON.stringify(item)} is not a CIDR (${where}); write it as address/prefix, e.g. 10.128.0.0/9`);
    }
    return item.trim();
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
