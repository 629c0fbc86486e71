// Levelled, line-oriented logging to stdout (collected by `kubectl logs`).
export type RelayLogLevel = 'debug' | 'info' | 'warn' | 'error';
const rank: Record<RelayLogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export function isRelayLogLevel(v: string): v is RelayLogLevel {
  return v in rank;
}

export type RelayLogger = (level: RelayLogLevel, message: string) => void;

export function stdoutLogger(min: RelayLogLevel, write: (line: string) => void = (l) => process.stdout.write(l)): RelayLogger {
  return (level, message) => {
    if (rank[level] < rank[min]) return;
    write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${message}\n`);
  };
}
