// Label and field selectors: the query-string grammar kubectl and clients
// send (`app=echo,tier!=db,env in (a,b),!legacy`) and the structured
// LabelSelector of workloads (matchLabels + matchExpressions). Pure.
import { badRequest } from './apiStatus';

export type Requirement =
  | { key: string; op: 'eq' | 'neq'; value: string }
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | 'notexists' };

export type Labels = Record<string, string> | undefined;

/** Splits on commas that are not inside parentheses. */
function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    if (ch === ',' && depth === 0) { out.push(cur); cur = ''; } else cur += ch;
  }
  out.push(cur);
  return out.map((p) => p.trim()).filter(Boolean);
}

const SET_RE = /^([^\s!=()]+)\s+(in|notin)\s*\(([^)]*)\)$/;

export function parseLabelSelector(text: string | null | undefined): Requirement[] {
  if (!text) return [];
  return splitTopLevel(text).map((part): Requirement => {
    const set = SET_RE.exec(part);
    if (set) return { key: set[1]!, op: set[2] as 'in' | 'notin', values: set[3]!.split(',').map((v) => v.trim()).filter(Boolean) };
    let m = /^([^\s!=]+)\s*!=\s*(\S*)$/.exec(part);
    if (m) return { key: m[1]!, op: 'neq', value: m[2]! };
    m = /^([^\s!=]+)\s*==?\s*(\S*)$/.exec(part);
    if (m) return { key: m[1]!, op: 'eq', value: m[2]! };
    m = /^!\s*([^\s!=()]+)$/.exec(part);
    if (m) return { key: m[1]!, op: 'notexists' };
    if (/^[^\s!=()]+$/.test(part)) return { key: part, op: 'exists' };
    throw badRequest(`unable to parse requirement: found '${part}', expected: in, notin, =, ==, !=, gt, lt`);
  });
}

export function matchesRequirements(labels: Labels, reqs: Requirement[]): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.op) {
      case 'eq': return has && l[r.key] === r.value;
      case 'neq': return !has || l[r.key] !== r.value;
      case 'in': return has && r.values.includes(l[r.key]!);
      case 'notin': return !has || !r.values.includes(l[r.key]!);
      case 'exists': return has;
      case 'notexists': return !has;
    }
  });
}

export interface LabelSelectorObject {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }>;
}

/** Requirements of a workload's `spec.selector`. An empty selector matches everything. */
export function requirementsOf(sel: LabelSelectorObject | undefined): Requirement[] {
  const reqs: Requirement[] = Object.entries(sel?.matchLabels ?? {}).map(([key, value]) => ({ key, op: 'eq', value }));
  for (const e of sel?.matchExpressions ?? []) {
    if (e.operator === 'In') reqs.push({ key: e.key, op: 'in', values: e.values ?? [] });
    else if (e.operator === 'NotIn') reqs.push({ key: e.key, op: 'notin', values: e.values ?? [] });
    else if (e.operator === 'Exists') reqs.push({ key: e.key, op: 'exists' });
    else reqs.push({ key: e.key, op: 'notexists' });
  }
  return reqs;
}

/** The string form kubectl shows and `status.selector` carries. */
export function formatSelector(sel: LabelSelectorObject | undefined): string {
  return requirementsOf(sel).map((r) => {
    switch (r.op) {
      case 'eq': return `${r.key}=${r.value}`;
      case 'neq': return `${r.key}!=${r.value}`;
      case 'in': return `${r.key} in (${r.values.join(',')})`;
      case 'notin': return `${r.key} notin (${r.values.join(',')})`;
      case 'exists': return r.key;
      case 'notexists': return `!${r.key}`;
    }
  }).join(',');
}

export interface FieldRequirement { field: string; op: 'eq' | 'neq'; value: string }

const FIELDS = ['metadata.name', 'metadata.namespace', 'spec.nodeName', 'status.phase', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'status.podIP', 'type'];

export function parseFieldSelector(text: string | null | undefined, kind: string): FieldRequirement[] {
  if (!text) return [];
  return splitTopLevel(text).map((part) => {
    const m = /^([^\s!=]+)\s*(!=|==|=)\s*(.*)$/.exec(part);
    if (!m) throw badRequest(`invalid selector: '${text}'; can't understand '${part}'`);
    if (!FIELDS.includes(m[1]!)) throw badRequest(`field label not supported: ${m[1]}`);
    if (kind !== 'Pod' && !m[1]!.startsWith('metadata.') && !(kind === 'Secret' && m[1] === 'type')) throw badRequest(`"${m[1]}" is not a known field selector: only "metadata.name", "metadata.namespace"`);
    return { field: m[1]!, op: m[2] === '!=' ? 'neq' : 'eq', value: m[3]! };
  });
}

function fieldValue(obj: unknown, path: string): string {
  let cur: unknown = obj;
  for (const p of path.split('.')) cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[p] : undefined;
  return cur === undefined || cur === null ? '' : String(cur);
}

export function matchesFields(obj: unknown, reqs: FieldRequirement[]): boolean {
  return reqs.every((r) => (fieldValue(obj, r.field) === r.value) === (r.op === 'eq'));
}
