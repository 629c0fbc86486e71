// Where the daemon listens unless told otherwise (Linux/macOS). Apart from
// rpc.ts so that reading it costs the extension no JSON-RPC library at activation.
export const DEFAULT_SOCKET_PATH = '/var/run/telepresence-vscode/daemon.sock';

/**
 * The socket a client uses: an explicit setting or flag, else `TPV_SOCKET`
 * (shared by `tpv` and the extension, so both find the same daemon), else the
 * default.
 */
export function clientSocketPath(configured: string | undefined, env: Readonly<Record<string, string | undefined>>): string {
  return configured?.trim() || env.TPV_SOCKET?.trim() || DEFAULT_SOCKET_PATH;
}
