// A CommandRunner that records command lines and answers from a script.
import type { CommandResult, CommandRunner } from '../../../daemon/system/commandRunner';

export interface FakeRunner {
  run: CommandRunner;
  calls: string[];
}

/** `respond` returns a result for a command line (joined by spaces); default exit 0. */
export function fakeRunner(respond: (line: string, input?: string) => Partial<CommandResult> | undefined = () => undefined): FakeRunner {
  const calls: string[] = [];
  const run: CommandRunner = async (command, args, input) => {
    const line = [command, ...args].join(' ');
    calls.push(line);
    const r = respond(line, input) ?? {};
    return { code: r.code ?? 0, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };
  return { run, calls };
}
