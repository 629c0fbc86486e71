// Command-line options of the daemon process. Pure so they can be tested.
import { isLogLevel } from '../log/logger';
import type { LogLevel } from '../protocol/rpc';
import { DEFAULT_SOCKET_PATH } from '../protocol/rpc';

export interface DaemonOptions {
  socketPath: string;
  ownerUid: number;
  ownerGid: number;
  stateDir: string;
  logFile: string;
  logLevel: LogLevel;
  /** Seconds to stay alive while disconnected with no client; 0 disables. */
  idleExitSeconds: number;
  /** Name of the TUN device. */
  device: string;
  /** Also log to stderr (foreground runs, tests). */
  stderr: boolean;
  /** Image of the in-cluster relay (a stock `node` image). */
  relayImage?: string;
  /** Only repair what a crashed daemon left (journal replay), then exit. */
  repairOnly: boolean;
}

export const DEFAULT_STATE_DIR = '/var/run/telepresence-vscode';

export function parseDaemonOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): DaemonOptions {
  const opts: DaemonOptions = {
    socketPath: DEFAULT_SOCKET_PATH,
    ownerUid: Number(env.SUDO_UID ?? env.PKEXEC_UID ?? process.getuid?.() ?? 0),
    ownerGid: Number(env.SUDO_GID ?? process.getgid?.() ?? 0),
    stateDir: DEFAULT_STATE_DIR,
    logFile: '/var/log/telepresence-vscode/daemon.log',
    logLevel: 'info',
    idleExitSeconds: 300,
    device: 'tpv0',
    stderr: false,
    repairOnly: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`daemon: ${flag} needs a value`);
      return v;
    };
    const int = (): number => {
      const v = value();
      if (!/^\d+$/.test(v)) throw new Error(`daemon: ${flag} expects a non-negative integer, got "${v}"`);
      return Number(v);
    };
    switch (flag) {
      case '--socket': opts.socketPath = value(); break;
      case '--owner-uid': opts.ownerUid = int(); break;
      case '--owner-gid': opts.ownerGid = int(); break;
      case '--state-dir': opts.stateDir = value(); break;
      case '--log-file': opts.logFile = value(); break;
      case '--log-level': {
        const v = value();
        if (!isLogLevel(v)) throw new Error(`daemon: --log-level must be trace, debug, info, warn or error, not "${v}"`);
        opts.logLevel = v;
        break;
      }
      case '--idle-exit': opts.idleExitSeconds = int(); break;
      case '--device': {
        const v = value();
        if (!/^[a-zA-Z0-9_.-]{1,15}$/.test(v)) throw new Error(`daemon: --device "${v}" is not a valid interface name (1-15 letters, digits, _ . -)`);
        opts.device = v;
        break;
      }
      case '--stderr': opts.stderr = true; break;
      case '--relay-image': {
        const v = value();
        if (!/^[a-zA-Z0-9][a-zA-Z0-9._\/:@-]{0,254}$/.test(v)) throw new Error(`daemon: --relay-image "${v}" is not an image reference`);
        opts.relayImage = v;
        break;
      }
      case '--repair': opts.repairOnly = true; break;
      default: throw new Error(`daemon: unknown option ${flag}`);
    }
  }
  return opts;
}
