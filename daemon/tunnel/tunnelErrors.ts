// Errors a tunnel user can act on. `code` follows the errno names a socket
// would give, so the daemon can mirror a remote failure as the same local one
// (a refused cluster port becomes a local RST, an unreachable host an ICMP
// error) instead of a generic failure.

/** Failures of dialing or of a stream, as seen from inside the cluster. */
export type RemoteErrorCode =
  | 'ECONNREFUSED'
  | 'ETIMEDOUT'
  | 'EHOSTUNREACH'
  | 'ENETUNREACH'
  | 'ENOTFOUND'
  | 'ECONNRESET'
  | 'EADDRNOTAVAIL'
  | 'EACCES'
  | 'EMFILE'
  | 'EINVAL'
  | 'ECANCELED'
  | 'ENOTSUP'
  | 'EIO';

/** Failures of the tunnel itself. */
export type TunnelFailureCode =
  /** The session closed (transport dropped, close() called, peer went away). */
  | 'ETUNNELCLOSED'
  /** No session right now (the supervisor is reconnecting). */
  | 'ETUNNELDOWN'
  /** The peer broke the protocol (bad frame, window overrun). */
  | 'EPROTO'
  /** The relay refused the session secret. */
  | 'EAUTH'
  /** No protocol version both sides speak. */
  | 'EVERSION';

export type TunnelErrorCode = RemoteErrorCode | TunnelFailureCode;

const remoteCodes: ReadonlySet<string> = new Set<RemoteErrorCode>([
  'ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'ECONNRESET',
  'EADDRNOTAVAIL', 'EACCES', 'EMFILE', 'EINVAL', 'ECANCELED', 'ENOTSUP', 'EIO',
]);
const knownCodes: ReadonlySet<string> = new Set<TunnelErrorCode>([
  ...(remoteCodes as ReadonlySet<RemoteErrorCode>),
  'ETUNNELCLOSED', 'ETUNNELDOWN', 'EPROTO', 'EAUTH', 'EVERSION',
]);

export class TunnelError extends Error {
  override readonly name = 'TunnelError';
  constructor(readonly code: TunnelErrorCode, message: string) {
    super(message);
  }
}

export function isTunnelError(e: unknown): e is TunnelError {
  return e instanceof TunnelError;
}

/** Parses a code received from the peer; anything unknown becomes EIO so callers can switch exhaustively. */
export function toTunnelErrorCode(code: string): TunnelErrorCode {
  return knownCodes.has(code) ? (code as TunnelErrorCode) : 'EIO';
}

/** Maps a Node socket/DNS error to the code sent to the peer. */
export function remoteCodeOf(err: unknown): RemoteErrorCode {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ECONNREFUSED': case 'ETIMEDOUT': case 'EHOSTUNREACH': case 'ENETUNREACH':
    case 'ECONNRESET': case 'EADDRNOTAVAIL': case 'EACCES': case 'EMFILE': case 'EINVAL':
    case 'ENOTFOUND':
      return code;
    case 'EAI_AGAIN': case 'EAI_NONAME': case 'EAI_NODATA':
      return 'ENOTFOUND';
    case 'EPIPE':
      return 'ECONNRESET';
    case 'EHOSTDOWN':
      return 'EHOSTUNREACH';
    case 'ENETDOWN':
      return 'ENETUNREACH';
    case 'ENFILE':
      return 'EMFILE';
    default:
      if (err instanceof TunnelError && remoteCodes.has(err.code)) return err.code as RemoteErrorCode;
      return 'EIO';
  }
}
