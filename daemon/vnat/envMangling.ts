// Rewrites a container environment so that a debugged process only sees
// virtual IPs: every IPv4/IPv6 literal in any value that lies in a VNAT
// subnet is replaced by its virtual IP, wherever it sits (URLs, host:port,
// [v6]:port, comma lists). Everything else stays byte for byte.
//
// A literal counts only on its own: `110.130.0.51` does not hold 10.130.0.5,
// and `10.130.0.5.1` is not an address (a digit, or a dot followed by a
// digit, right before or after rules the match out). Octets with leading
// zeros are left alone (other parsers read them as octal).

export interface EnvIpTranslator {
  /** The virtual IP for a real one in a VNAT subnet, or undefined to leave it. */
  toVirtual(realIp: string): string | undefined;
  /** Families with VNAT subnets; a family without any is not scanned at all. */
  families: { ipv4: boolean; ipv6: boolean };
}

export interface EnvIpReference {
  variable: string;
  realIp: string;
  virtualIp: string;
}

export interface MangledEnv {
  env: Record<string, string>;
  /** Which variable referenced which IP (once per variable and IP), for the VNAT sidebar. */
  references: EnvIpReference[];
}

// Dotted quads; the boundary checks are done by hand (see isolatedIpv4).
const IPV4_CANDIDATE = /\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}/g;
// Runs of hex digits, colons and dots with at least two colons: every IPv6
// literal (including ::ffff:1.2.3.4) is one; most others fail validation.
const IPV6_CANDIDATE = /[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*/g;

export function mangleEnv(env: Readonly<Record<string, string>>, translator: EnvIpTranslator): MangledEnv {
  const out: Record<string, string> = {};
  const references: EnvIpReference[] = [];
  for (const [variable, value] of Object.entries(env)) {
    const seen = new Set<string>();
    const note = (realIp: string, virtualIp: string) => {
      if (seen.has(realIp)) return;
      seen.add(realIp);
      references.push({ variable, realIp, virtualIp });
    };
    let mangled = value;
    if (translator.families.ipv6 && value.includes(':')) mangled = replaceIpv6(mangled, translator, note);
    if (translator.families.ipv4 && value.includes('.')) mangled = replaceIpv4(mangled, translator, note);
    out[variable] = mangled;
  }
  return { env: out, references };
}

function replaceIpv4(value: string, t: EnvIpTranslator, note: (r: string, v: string) => void): string {
  return value.replace(IPV4_CANDIDATE, (match, offset: number) => {
    if (!isolatedIpv4(value, offset, offset + match.length) || !canonicalOctets(match)) return match;
    const virtual = t.toVirtual(match);
    if (virtual === undefined) return match;
    note(match, virtual);
    return virtual;
  });
}

function isolatedIpv4(s: string, start: number, end: number): boolean {
  const before = s.charCodeAt(start - 1);
  if (isDigit(before)) return false;
  if (before === 46 /* . */ && isDigit(s.charCodeAt(start - 2))) return false;
  const after = s.charCodeAt(end);
  if (isDigit(after)) return false;
  if (after === 46 && isDigit(s.charCodeAt(end + 1))) return false;
  return true;
}

function canonicalOctets(dotted: string): boolean {
  return dotted.split('.').every((o) => (o.length === 1 || o[0] !== '0') && Number(o) <= 255);
}

function replaceIpv6(value: string, t: EnvIpTranslator, note: (r: string, v: string) => void): string {
  return value.replace(IPV6_CANDIDATE, (run, offset: number) => {
    // Inside a word (e.g. "xdead:beef::1") it is not a literal of its own.
    if (isWordChar(value.charCodeAt(offset - 1)) || isWordChar(value.charCodeAt(offset + run.length))) return run;
    // Trim what may border a literal: a "key:" colon before, a sentence dot or ":port"-less colon after.
    let start = 0;
    let end = run.length;
    for (let attempt = 0; attempt < 4; attempt++) {
      const literal = run.slice(start, end);
      const virtual = literal.includes('::') || literal.split(':').length >= 3 ? t.toVirtual(literal) : undefined;
      if (virtual !== undefined) {
        note(literal, virtual);
        return run.slice(0, start) + virtual + run.slice(end);
      }
      if (run[end - 1] === '.') end--;
      else if (run[start] === ':' && run[start + 1] !== ':') start++;
      else if (run[end - 1] === ':' && run[end - 2] !== ':') end--;
      else break;
    }
    return run;
  });
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Letters beyond hex and '_' : the run is part of an identifier. */
function isWordChar(c: number): boolean {
  return (c >= 71 && c <= 90) || (c >= 103 && c <= 122) || c === 95;
}
