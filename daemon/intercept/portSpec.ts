// `--port [LOCAL:]REMOTE` as Telepresence spells it: REMOTE is the service
// port's number or name; LOCAL defaults to the remote number when numeric.

export interface PortSpec {
  local: number | undefined;
  /** A port number or a port name (IANA_SVC_NAME). */
  remote: number | string;
}

const PORT_NAME = /^(?=.{1,15}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

function portNumber(s: string, what: string): number {
  if (!/^\d{1,5}$/.test(s) || Number(s) < 1 || Number(s) > 65535) throw new Error(`${what} "${s}" is not a port number between 1 and 65535`);
  return Number(s);
}

export function parsePortSpec(spec: string): PortSpec {
  const parts = spec.split(':');
  if (spec === '' || parts.length > 2) throw new Error(`--port "${spec}" must be [LOCAL:]REMOTE, e.g. 8080:80 or 8080:http`);
  const remoteText = parts[parts.length - 1]!;
  const remote = /^\d+$/.test(remoteText) ? portNumber(remoteText, 'remote port') : remoteText;
  if (typeof remote === 'string' && !PORT_NAME.test(remote)) {
    throw new Error(`remote port "${remote}" is neither a number nor a valid port name (lower-case letters, digits and '-', at most 15 characters)`);
  }
  const local = parts.length === 2 ? portNumber(parts[0]!, 'local port') : typeof remote === 'number' ? remote : undefined;
  return { local, remote };
}
