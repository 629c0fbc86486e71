// The client side of the daemon's socket (JSON-RPC, the handshake, starting
// the daemon), bundled apart as dist/extensionDaemonLink.js and loaded by the
// first look for a running daemon, just after activation. The JSON-RPC
// library is two thirds of what the extension would otherwise compile before
// activate() runs, and a window that never meets a daemon never needs it.
export { DaemonClient } from '../client/daemon/daemonClient';
export { decideHandshake } from '../client/daemon/handshake';
export { ensureDaemon, ConsentDeclined } from '../client/daemon/ensureDaemon';
export { ElevationUnavailable } from '../client/daemon/daemonErrors';
export { defaultLauncherKind } from '../client/daemon/launchCommands';
export { ProcessLauncher, TerminalSudoLauncher } from '../client/daemon/daemonLauncher';
export { PROTOCOL_VERSION } from '../daemon/protocol/rpc';
