// A CliEnvironment that records output, for command tests.
import type { CliEnvironment } from '../../../cli/dispatcher';
import type { Route } from '../../../daemon/routing/route';

export interface RecordingEnvironment extends CliEnvironment {
  out: string[];
  err: string[];
  readPaths: string[];
}

export function recordingEnvironment(opts: { routes?: Route[]; files?: Record<string, string>; platform?: NodeJS.Platform } = {}): RecordingEnvironment {
  const out: string[] = [];
  const err: string[] = [];
  const readPaths: string[] = [];
  return {
    out, err, readPaths,
    stdout: (t) => { out.push(t); },
    stderr: (t) => { err.push(t); },
    platform: opts.platform ?? 'linux',
    // A socket path where no daemon ever listens: unit tests never reach a real daemon.
    env: { HOME: '/home/dev', TPV_SOCKET: '/nonexistent/tpv-unit-test.sock' },
    version: '9.9.9',
    readRoutingTable: async () => opts.routes ?? [],
    readFile: (path) => {
      readPaths.push(path);
      const text = opts.files?.[path];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' });
      return text;
    },
  };
}
