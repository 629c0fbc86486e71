// Levelled logging to a file and to subscribed clients. The file is the
// record after a crash; subscribers see the same lines live.
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LogEntry, LogLevel } from '../protocol/rpc';

const rank: Record<LogLevel, number> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4 };

export function isLogLevel(v: unknown): v is LogLevel {
  return typeof v === 'string' && v in rank;
}

export type LogSink = (entry: LogEntry) => void;

export class Logger {
  private readonly sinks = new Map<LogSink, LogLevel>();
  private fileReady = false;

  constructor(
    private readonly filePath: string | undefined,
    private fileLevel: LogLevel = 'info',
    private readonly alsoStderr = false,
  ) {}

  scoped(scope: string): ScopedLogger {
    return new ScopedLogger(this, scope);
  }

  subscribe(sink: LogSink, level: LogLevel): () => void {
    this.sinks.set(sink, level);
    return () => this.sinks.delete(sink);
  }

  setFileLevel(level: LogLevel): void {
    this.fileLevel = level;
  }

  write(level: LogLevel, scope: string, message: string): void {
    const entry: LogEntry = { time: new Date().toISOString(), level, scope, message };
    const line = `${entry.time} ${level.toUpperCase().padEnd(5)} ${scope}: ${message}\n`;
    if (this.filePath && rank[level] >= rank[this.fileLevel]) {
      try {
        if (!this.fileReady) {
          mkdirSync(dirname(this.filePath), { recursive: true, mode: 0o700 });
          this.fileReady = true;
        }
        appendFileSync(this.filePath, line, { mode: 0o600 });
      } catch {
        // A full disk must not take the network down with it.
      }
    }
    if (this.alsoStderr) process.stderr.write(line);
    for (const [sink, min] of this.sinks) {
      if (rank[level] >= rank[min]) {
        try { sink(entry); } catch { /* a broken client must not break logging */ }
      }
    }
  }
}

export class ScopedLogger {
  constructor(private readonly logger: Logger, readonly scope: string) {}
  child(scope: string): ScopedLogger { return new ScopedLogger(this.logger, `${this.scope}/${scope}`); }
  trace(msg: string): void { this.logger.write('trace', this.scope, msg); }
  debug(msg: string): void { this.logger.write('debug', this.scope, msg); }
  info(msg: string): void { this.logger.write('info', this.scope, msg); }
  warn(msg: string): void { this.logger.write('warn', this.scope, msg); }
  error(msg: string): void { this.logger.write('error', this.scope, msg); }
}
