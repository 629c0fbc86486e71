// Runs iproute2/nft/sysctl commands; failures carry the command and its stderr.
import { execFile, execFileSync } from 'node:child_process';

export function run(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`\`${cmd} ${args.join(' ')}\` failed: ${(stderr || err.message).trim()}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

export function runSync(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`\`${cmd} ${args.join(' ')}\` failed: ${(e.stderr || e.message).trim()}`);
  }
}

/** `ip -n <ns> -batch -`: many changes in one process, stops at the first failure. */
export function ipBatch(ns: string, commands: string[]): Promise<string> {
  return run('ip', ['-n', ns, '-batch', '-'], commands.join('\n') + '\n');
}

export function listNetns(): string[] {
  const out = runSync('ip', ['netns', 'list']);
  return out.split('\n').map((l) => l.split(' ')[0]!.trim()).filter(Boolean);
}
