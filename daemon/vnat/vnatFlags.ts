// `--vnat CIDR|also|service|pods|all` and `--proxy-via CIDR=WORKLOAD`, with
// Telepresence's validation. `--vnat X` is `--proxy-via X=local`. Values may
// be comma lists, as Telepresence's string-slice flags are.
import { type Cidr, cidrsOverlap, formatCidr, tryParseCidr } from '../net/cidr';

/** What a symbol stands for; `all` is expanded to these three when parsed. */
export type VnatSymbol = 'also' | 'service' | 'pods';

/** The workload name that means "translate locally, route like any VNAT subnet". */
export const LOCAL_WORKLOAD = 'local';

export type VnatTarget = { kind: 'cidr'; cidr: Cidr } | { kind: 'symbol'; symbol: VnatSymbol };

export interface VnatRule {
  target: VnatTarget;
  /** `local` for `--vnat`; otherwise the workload whose agent dials the real IPs. */
  workload: string;
  /** The flag as the user typed it, for error messages. */
  source: string;
}

const SYMBOLS = ['also', 'service', 'pods', 'all'] as const;

export function splitFlagValues(values: readonly string[]): string[] {
  return values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
}

/** Parses and validates both flags; throws an Error that says what to type instead. */
export function parseVnatRules(vnat: readonly string[], proxyVia: readonly string[]): VnatRule[] {
  const rules: VnatRule[] = [];
  const add = (targetText: string, workload: string, source: string) => {
    const target = parseTarget(targetText, source);
    if (target === 'all') {
      const symbolic = rules.find((r) => r.target.kind === 'symbol');
      if (symbolic) throw repeatedSymbol(symbolic.source, source);
      for (const symbol of ['also', 'pods', 'service'] as const) rules.push({ target: { kind: 'symbol', symbol }, workload, source });
      return;
    }
    if (target.kind === 'symbol') {
      const same = rules.find((r) => r.target.kind === 'symbol' && r.target.symbol === target.symbol);
      if (same) throw repeatedSymbol(same.source, source);
    } else {
      const overlapping = rules.find((r) => r.target.kind === 'cidr' && cidrsOverlap(r.target.cidr, target.cidr));
      if (overlapping && overlapping.target.kind === 'cidr') {
        throw new Error(`CIDRs ${formatCidr(overlapping.target.cidr)} and ${formatCidr(target.cidr)} are overlapping (${overlapping.source} and ${source}); give each subnet to only one --vnat or --proxy-via`);
      }
    }
    rules.push({ target, workload, source });
  };
  for (const value of splitFlagValues(vnat)) add(value, LOCAL_WORKLOAD, `--vnat ${value}`);
  for (const value of splitFlagValues(proxyVia)) {
    const eq = value.indexOf('=');
    if (eq <= 0) throw new Error(`--proxy-via "${value}" is not in the form CIDR=WORKLOAD; e.g. --proxy-via 10.130.0.0/16=echo or --proxy-via all=echo`);
    const workload = value.slice(eq + 1);
    const problem = dns1123LabelProblem(workload);
    if (problem) throw new Error(`--proxy-via ${value}: workload "${workload}" ${problem}`);
    add(value.slice(0, eq), workload, `--proxy-via ${value}`);
  }
  return rules;
}

function parseTarget(text: string, source: string): VnatTarget | 'all' {
  if (text === 'all') return 'all';
  if ((SYMBOLS as readonly string[]).includes(text)) return { kind: 'symbol', symbol: text as VnatSymbol };
  const cidr = tryParseCidr(text);
  if (!cidr) throw new Error(`${source}: "${text}" is neither a CIDR (e.g. 10.130.0.0/16) nor one of the symbols ${SYMBOLS.join(', ')}`);
  return { kind: 'cidr', cidr };
}

function repeatedSymbol(earlier: string, later: string): Error {
  return new Error(`${later} repeats a subnet already given by ${earlier} ("all" stands for also, service and pods); give each symbol only once`);
}

/** Why `name` is not a DNS-1123 label (Kubernetes' rule for workload names), or undefined when it is one. */
export function dns1123LabelProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty; name the deployment, replicaset, statefulset or rollout to route through';
  if (name.length > 63) return `is ${name.length} characters long; a DNS-1123 label has at most 63`;
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) {
    return "is not a DNS-1123 label: use lower case letters, digits and '-', starting and ending with a letter or digit (e.g. 'my-name' or '123-abc')";
  }
  return undefined;
}
