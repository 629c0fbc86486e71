// A small, pure command-line parser: `--flag value`, `--flag=value`,
// repeatable list flags, booleans, `--` to end flags, `-h` for `--help`.
// No dependency: the CLI needs exactly this and the errors must read well.

export type FlagKind = 'boolean' | 'string' | 'list';

export interface FlagSpec {
  /** Without the dashes, e.g. `service-cidr`. */
  name: string;
  kind: FlagKind;
  description: string;
  /** Shown in usage, e.g. `CIDR`. */
  valueName?: string;
}

export type FlagValue = boolean | string | string[];

export interface ParsedArgs {
  flags: Record<string, FlagValue>;
  positionals: string[];
  help: boolean;
}

/** Wrong usage: the dispatcher prints it with the command's usage. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[]): ParsedArgs {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const flags: Record<string, FlagValue> = {};
  const positionals: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') { positionals.push(...argv.slice(i + 1)); break; }
    if (arg === '-h' || arg === '--help') { help = true; continue; }
    if (!arg.startsWith('--') || arg === '--') {
      if (arg.startsWith('-') && arg.length > 1) throw new UsageError(`unknown flag ${arg}`);
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const inline = eq < 0 ? undefined : arg.slice(eq + 1);
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`unknown flag --${name}${suggestion(name, specs)}`);
    if (spec.kind === 'boolean') {
      if (inline === undefined || inline === 'true') flags[name] = true;
      else if (inline === 'false') flags[name] = false;
      else throw new UsageError(`flag --${name} takes no value (or =true / =false), got "${inline}"`);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) throw new UsageError(`flag --${name} needs a value${spec.valueName ? ` (${spec.valueName})` : ''}`);
      value = next;
      i++;
    }
    if (spec.kind === 'list') {
      const list = (flags[name] as string[] | undefined) ?? [];
      list.push(value);
      flags[name] = list;
    } else {
      flags[name] = value;
    }
  }
  return { flags, positionals, help };
}

export function flagString(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags[name];
  return typeof v === 'string' ? v : undefined;
}

export function flagList(args: ParsedArgs, name: string): string[] {
  const v = args.flags[name];
  return Array.isArray(v) ? v : [];
}

export function flagBoolean(args: ParsedArgs, name: string): boolean {
  return args.flags[name] === true;
}

/** The flag section of a usage text, aligned. */
export function formatFlagHelp(specs: readonly FlagSpec[]): string {
  const left = specs.map((s) => `  --${s.name}${s.kind === 'boolean' ? '' : ` ${s.valueName ?? 'VALUE'}`}`);
  const width = Math.max(0, ...left.map((l) => l.length)) + 2;
  return specs.map((s, i) => `${left[i]!.padEnd(width)}${s.description}${s.kind === 'list' ? ' (repeatable)' : ''}`).join('\n');
}

function suggestion(name: string, specs: readonly FlagSpec[]): string {
  const close = specs.find((s) => s.name.startsWith(name) || name.startsWith(s.name) || editDistance(s.name, name) <= 2);
  return close ? ` (did you mean --${close.name}?)` : '';
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}
