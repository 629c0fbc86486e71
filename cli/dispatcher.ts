// Finds the command, parses its flags, prints help and usage errors, and
// turns thrown errors into Telepresence-style `tpv <cmd>: error: ...` lines.
//
// To add a command: write a CommandSpec (name, summary, flags, run) in
// cli/commands/, and add it to the list in cli/commands/index.ts.
import { type FlagSpec, type ParsedArgs, UsageError, formatFlagHelp, parseArgs } from './argParser';
import type { Route } from '../daemon/routing/route';

/** Everything a command may touch, injected so that commands are unit tested. */
export interface CliEnvironment {
  stdout(text: string): void;
  stderr(text: string): void;
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  readRoutingTable(): Promise<Route[]>;
  readFile(path: string): string;
  version: string;
}

export interface CommandSpec {
  name: string;
  summary: string;
  /** After `tpv <name>`, e.g. `[flags]` or `WORKLOAD [flags]`. */
  usage: string;
  flags: FlagSpec[];
  /** Extra help text below the flags. */
  details?: string;
  maxPositionals?: number;
  /** Resolves with the exit code. Throw Error for failures (printed with the command's prefix), UsageError for wrong usage. */
  run(args: ParsedArgs, env: CliEnvironment): Promise<number>;
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export async function runCli(argv: readonly string[], commands: readonly CommandSpec[], env: CliEnvironment): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    env.stderr(topLevelUsage(commands));
    return EXIT_USAGE;
  }
  if (first === '--help' || first === '-h') {
    env.stdout(topLevelUsage(commands));
    return EXIT_OK;
  }
  if (first === '--version' || first === 'version') {
    env.stdout(`tpv ${env.version}\n`);
    return EXIT_OK;
  }
  if (first === 'help') {
    const target = rest[0] === undefined ? undefined : commands.find((c) => c.name === rest[0]);
    if (rest[0] !== undefined && !target) {
      env.stderr(`tpv: error: unknown command "${rest[0]}"\n\n${topLevelUsage(commands)}`);
      return EXIT_USAGE;
    }
    env.stdout(target ? commandUsage(target) : topLevelUsage(commands));
    return EXIT_OK;
  }
  const command = commands.find((c) => c.name === first);
  if (!command) {
    env.stderr(`tpv: error: unknown command "${first}"\n\n${topLevelUsage(commands)}`);
    return EXIT_USAGE;
  }
  try {
    const args = parseArgs(rest, command.flags);
    if (args.help) {
      env.stdout(commandUsage(command));
      return EXIT_OK;
    }
    if (args.positionals.length > (command.maxPositionals ?? 0)) {
      throw new UsageError(`unexpected argument "${args.positionals[command.maxPositionals ?? 0]}"`);
    }
    return await command.run(args, env);
  } catch (err) {
    if (err instanceof UsageError) {
      env.stderr(`tpv ${command.name}: error: ${err.message}\n\n${commandUsage(command)}`);
      return EXIT_USAGE;
    }
    env.stderr(`tpv ${command.name}: error: ${(err as Error).message ?? String(err)}\n`);
    return EXIT_FAILURE;
  }
}

export function topLevelUsage(commands: readonly CommandSpec[]): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    'Usage: tpv COMMAND [flags]',
    '',
    'Telepresence for VS Code from the command line.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Run "tpv COMMAND --help" for the flags of a command.',
    '',
  ].join('\n');
}

export function commandUsage(command: CommandSpec): string {
  const parts = [`Usage: tpv ${command.name} ${command.usage}`.trimEnd(), '', command.summary];
  if (command.flags.length) parts.push('', 'Flags:', formatFlagHelp(command.flags));
  if (command.details) parts.push('', command.details);
  return `${parts.join('\n')}\n`;
}
