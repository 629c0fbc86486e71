// What a client does with the daemon it found on the socket. Pure: the
// decision is tested without sockets.

export interface VersionInfo {
  version: string;
  protocolVersion: number;
}

/**
 * - `use`: same protocol and a daemon at least as new as this client;
 * - `replace`: the daemon is older (protocol or release): ask it to quit and start ours;
 * - `client-too-old`: the daemon speaks a newer protocol than this client;
 *   replacing it would break the newer client that started it.
 */
export type HandshakeDecision = { action: 'use' } | { action: 'replace'; reason: string } | { action: 'client-too-old'; reason: string };

export function decideHandshake(daemon: VersionInfo, ours: VersionInfo): HandshakeDecision {
  if (daemon.protocolVersion < ours.protocolVersion) {
    return { action: 'replace', reason: `the running daemon speaks protocol ${daemon.protocolVersion}, this client needs ${ours.protocolVersion}` };
  }
  if (daemon.protocolVersion > ours.protocolVersion) {
    return {
      action: 'client-too-old',
      reason: `the running daemon (${daemon.version}) speaks protocol ${daemon.protocolVersion}, newer than this client's ${ours.protocolVersion}; update the Telepresence extension and the tpv CLI`,
    };
  }
  if (compareVersions(daemon.version, ours.version) < 0) {
    return { action: 'replace', reason: `the running daemon is version ${daemon.version}, older than ${ours.version}` };
  }
  return { action: 'use' };
}

/**
 * Compares dotted release versions (`1.2.10` > `1.2.9`); a pre-release
 * (`1.2.0-rc.1`) sorts before its release, as in semver.
 */
export function compareVersions(a: string, b: string): number {
  const [coreA, preA] = splitVersion(a);
  const [coreB, preB] = splitVersion(b);
  for (let i = 0; i < Math.max(coreA.length, coreB.length); i++) {
    const d = (coreA[i] ?? 0) - (coreB[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  if (preA === preB) return 0;
  if (preA === '') return 1;
  if (preB === '') return -1;
  return preA < preB ? -1 : 1;
}

function splitVersion(v: string): [number[], string] {
  const clean = v.trim().replace(/^v/, '').split('+')[0]!;
  const dash = clean.indexOf('-');
  const core = dash < 0 ? clean : clean.slice(0, dash);
  const pre = dash < 0 ? '' : clean.slice(dash + 1);
  return [core.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : 0)), pre];
}
