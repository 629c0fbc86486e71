// Where the daemon listens unless told otherwise (Linux/macOS). Apart from
// rpc.ts so that reading it costs the extension no JSON-RPC library at activation.
export const DEFAULT_SOCKET_PATH = '/var/run/telepresence-vscode/daemon.sock';
