// The first exchange of a session: the daemon proves it knows the session
// secret and both sides agree on a protocol version. Pure apart from hashing.
import { createHash, timingSafeEqual } from 'node:crypto';
import { FrameFormatError } from './frames';

export interface HelloRequest {
  /** Protocol versions the daemon speaks (inclusive). */
  min: number;
  max: number;
  secret: string;
  /** e.g. "tpv-daemon/0.1.0", for the relay's log. */
  software: string;
}

/** What the pod's resolver uses, so the daemon's DNS server can mirror search paths. */
export interface RelayDnsConfig {
  nameservers: string[];
  search: string[];
  ndots: number;
}

export interface HelloAccept {
  version: number;
  /** e.g. "tpv-relay". */
  software: string;
  /** RELAY_VERSION of the script answering; the daemon redeploys an older one. */
  softwareVersion: string;
  /** `relay` (the shared relay pod) or `agent` (a workload's traffic-agent sidecar). */
  mode: 'relay' | 'agent';
  dns?: RelayDnsConfig;
  pod?: { name?: string; namespace?: string; ip?: string };
}

export function parseHelloRequest(v: unknown): HelloRequest {
  const o = v as Partial<HelloRequest> | null;
  if (!o || typeof o !== 'object' || !isVersion(o.min) || !isVersion(o.max) || typeof o.secret !== 'string' || typeof o.software !== 'string') {
    throw new FrameFormatError('HELLO is missing min/max/secret/software');
  }
  return { min: o.min, max: o.max, secret: o.secret, software: o.software };
}

export function parseHelloAccept(v: unknown): HelloAccept {
  const o = v as Partial<HelloAccept> | null;
  if (!o || typeof o !== 'object' || !isVersion(o.version) || typeof o.software !== 'string' || typeof o.softwareVersion !== 'string' || (o.mode !== 'relay' && o.mode !== 'agent')) {
    throw new FrameFormatError('HELLO_ACK is missing version/software/softwareVersion/mode');
  }
  const out: HelloAccept = { version: o.version, software: o.software, softwareVersion: o.softwareVersion, mode: o.mode };
  if (o.dns && Array.isArray(o.dns.nameservers) && Array.isArray(o.dns.search)) {
    out.dns = {
      nameservers: o.dns.nameservers.filter((s): s is string => typeof s === 'string'),
      search: o.dns.search.filter((s): s is string => typeof s === 'string'),
      ndots: typeof o.dns.ndots === 'number' ? o.dns.ndots : 1,
    };
  }
  if (o.pod && typeof o.pod === 'object') out.pod = o.pod;
  return out;
}

/** The highest version both ranges contain, or undefined. */
export function negotiateVersion(ours: { min: number; max: number }, theirs: { min: number; max: number }): number | undefined {
  const v = Math.min(ours.max, theirs.max);
  return v >= ours.min && v >= theirs.min ? v : undefined;
}

/**
 * Compares secrets in time independent of where they differ and of their
 * lengths (both sides are hashed to the same size first).
 */
export function secretsMatch(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b) && expected.length > 0;
}

/** True when `given` equals any of `expected`; every candidate is compared, so timing says nothing about which. */
export function secretMatchesAny(given: string, expected: readonly string[]): boolean {
  let ok = false;
  for (const e of expected) ok = secretsMatch(given, e) || ok;
  return ok;
}

function isVersion(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n > 0 && n < 65536;
}
