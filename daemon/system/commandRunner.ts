// How host changes run their tools (ip, nft, resolvectl). Injected so that
// unit tests check the exact command lines and integration tests can run the
// same operations inside a network namespace.
import { spawn } from 'node:child_process';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command; resolves with its exit code (never rejects for a non-zero exit). */
export type CommandRunner = (command: string, args: readonly string[], input?: string) => Promise<CommandResult>;

export class CommandFailedError extends Error {
  constructor(readonly command: string, readonly args: readonly string[], readonly result: CommandResult) {
    super(`\`${[command, ...args].join(' ')}\` failed (exit ${result.code}): ${(result.stderr || result.stdout).trim() || 'no output'}`);
    this.name = 'CommandFailedError';
  }
}

/** Runs binaries directly (no shell); a missing binary is reported with what to install. */
export const runCommand: CommandRunner = (command, args, input) =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') reject(new Error(`\`${command}\` is not installed; install ${packageOf(command)} and try again`));
      else reject(err);
    });
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
    child.stdin.on('error', () => { /* the tool may exit before reading */ });
    child.stdin.end(input ?? '');
  });

function packageOf(command: string): string {
  switch (command) {
    case 'ip': return 'iproute2';
    case 'nft': return 'nftables';
    case 'resolvectl': return 'systemd-resolved';
    default: return `the package providing \`${command}\``;
  }
}

/** Runs and throws CommandFailedError on a non-zero exit. */
export async function runChecked(runner: CommandRunner, command: string, args: readonly string[], input?: string): Promise<CommandResult> {
  const result = await runner(command, args, input);
  if (result.code !== 0) throw new CommandFailedError(command, args, result);
  return result;
}

/** Runs every command inside network namespace `ns` (tests, `ip netns exec`). */
export function inNetworkNamespace(ns: string, runner: CommandRunner = runCommand): CommandRunner {
  return (command, args, input) => runner('ip', ['netns', 'exec', ns, command, ...args], input);
}
