// The lab's certificates, made with the openssl CLI: a CA, a serving
// certificate for the API server's address (+ loopback and the in-cluster
// names), an admin client certificate (O=system:masters) and random bearer
// tokens. Reused across restarts while the serving address stays the same.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LabTokens { admin: string; limited: string; exec: string; viewer?: string }

export interface LabPki {
  caPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  adminCertPem: string;
  adminKeyPem: string;
  tokens: LabTokens;
}

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`openssl ${args[0]} failed (is the openssl CLI installed?): ${stderr.trim() || (err as Error).message}`);
  }
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Subject alternative names of the serving certificate. */
export function servingSans(host: string, extraIps: string[] = []): string {
  const ips = [...new Set([host, '127.0.0.1', ...extraIps])].filter((ip) => /^\d+\.\d+\.\d+\.\d+$/.test(ip));
  const dns = ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'];
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(host)) dns.push(host);
  return [...ips.map((ip) => `IP:${ip}`), ...dns.map((d) => `DNS:${d}`)].join(',');
}

export function ensurePki(dir: string, host: string, extraIps: string[] = []): LabPki {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const f = (name: string) => join(dir, name);
  if (!existsSync(f('ca.crt')) || !existsSync(f('ca.key'))) {
    openssl(['req', '-x509', ...EC_KEY, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '365', '-subj', '/CN=tpv-lab-ca',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature']);
  }
  const sans = servingSans(host, extraIps);
  const sansFile = f('server.sans');
  if (!existsSync(f('server.crt')) || !existsSync(sansFile) || readFileSync(sansFile, 'utf8') !== sans) {
    openssl(['req', ...EC_KEY, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=kube-apiserver']);
    writeFileSync(f('server.ext'), `subjectAltName=${sans}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n`);
    openssl(['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.crt'), '-days', '365', '-extfile', f('server.ext')]);
    writeFileSync(sansFile, sans);
  }
  if (!existsSync(f('admin.crt'))) {
    openssl(['req', ...EC_KEY, '-keyout', f('admin.key'), '-out', f('admin.csr'), '-subj', '/O=system:masters/CN=admin']);
    writeFileSync(f('admin.ext'), 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n');
    openssl(['x509', '-req', '-in', f('admin.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('admin.crt'), '-days', '365', '-extfile', f('admin.ext')]);
  }
  const tokensFile = f('tokens.json');
  if (!existsSync(tokensFile)) {
    const t = (): string => randomBytes(24).toString('base64url');
    writeFileSync(tokensFile, JSON.stringify({ admin: t(), limited: t(), exec: t(), viewer: t() } satisfies LabTokens), { mode: 0o600 });
  }
  const read = (name: string) => readFileSync(f(name), 'utf8');
  return {
    caPem: read('ca.crt'), serverCertPem: read('server.crt'), serverKeyPem: read('server.key'),
    adminCertPem: read('admin.crt'), adminKeyPem: read('admin.key'), tokens: JSON.parse(read('tokens.json')) as LabTokens,
  };
}
