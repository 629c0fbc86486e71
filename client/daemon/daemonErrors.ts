// Errors a client shows the user as they are: each says what to do next.

/** The user dismissed the password / administrator prompt. Not a failure to report loudly. */
export class ElevationCancelled extends Error {
  override readonly name = 'ElevationCancelled';
  constructor(readonly launcher: string) {
    super(`Starting the Telepresence daemon was cancelled at the ${launcher} prompt; nothing was changed. Run Connect again to retry.`);
  }
}

/** No polkit agent could show a prompt (e.g. a remote session): fall back to sudo in a terminal. */
export class ElevationUnavailable extends Error {
  override readonly name = 'ElevationUnavailable';
}

export class DaemonLaunchFailed extends Error {
  override readonly name = 'DaemonLaunchFailed';
}

/** No daemon answers on the socket. */
export class DaemonNotRunning extends Error {
  override readonly name = 'DaemonNotRunning';
  constructor(readonly socketPath: string, cause?: string) {
    super(`The Telepresence daemon is not running (no answer on ${socketPath}${cause ? `: ${cause}` : ''}); run "Telepresence: Connect" or \`tpv connect\` to start it.`);
  }
}

/** The daemon is newer than this client. */
export class ClientTooOld extends Error {
  override readonly name = 'ClientTooOld';
}
