import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError, flagString } from '../../../cli/argParser';
import { commands } from '../../../cli/commands';
import { type CommandSpec, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, runCli } from '../../../cli/dispatcher';
import { recordingEnvironment } from './cliEnvironment';

const echo: CommandSpec = {
  name: 'echo',
  summary: 'Prints its flag',
  usage: '[flags]',
  flags: [{ name: 'text', kind: 'string', description: 'what to print' }],
  async run(args, env) {
    const text = flagString(args, 'text');
    if (text === 'usage') throw new UsageError('bad text');
    if (text === 'fail') throw new Error('it failed; do something else');
    env.stdout(`${text}\n`);
    return EXIT_OK;
  },
};

test('a registered command runs with its parsed flags', async () => {
  const env = recordingEnvironment();
  assert.equal(await runCli(['echo', '--text=hi'], [echo], env), EXIT_OK);
  assert.deepEqual(env.out, ['hi\n']);
});

test('errors get Telepresence\'s "tpv <cmd>: error: " prefix and exit 1', async () => {
  const env = recordingEnvironment();
  assert.equal(await runCli(['echo', '--text', 'fail'], [echo], env), EXIT_FAILURE);
  assert.deepEqual(env.err, ['tpv echo: error: it failed; do something else\n']);
});

test('usage errors print the command usage and exit 2', async () => {
  for (const argv of [['echo', '--nope'], ['echo', '--text', 'usage'], ['echo', 'extra']]) {
    const env = recordingEnvironment();
    assert.equal(await runCli(argv, [echo], env), EXIT_USAGE, argv.join(' '));
    assert.match(env.err.join(''), /^tpv echo: error: .*\n\nUsage: tpv echo \[flags\]\n/);
  }
});

test('--help per command, help COMMAND, and top-level help list every command', async () => {
  const env = recordingEnvironment();
  assert.equal(await runCli(['echo', '--help'], [echo], env), EXIT_OK);
  assert.match(env.out[0]!, /^Usage: tpv echo \[flags\]\n\nPrints its flag\n\nFlags:\n  --text VALUE/);
  assert.equal(await runCli(['help', 'echo'], [echo], env), EXIT_OK);
  assert.equal(env.out[1], env.out[0]);
  assert.equal(await runCli(['--help'], commands, env), EXIT_OK);
  for (const name of ['connect', 'status', 'vnat', 'disconnect', 'quit', 'uninstall', 'intercept', 'leave', 'ingest']) assert.match(env.out[2]!, new RegExp(`^  ${name} `, 'm'));
});

test('no command, or an unknown one, prints the usage on stderr and exits 2', async () => {
  const env = recordingEnvironment();
  assert.equal(await runCli([], commands, env), EXIT_USAGE);
  assert.equal(await runCli(['conect'], commands, env), EXIT_USAGE);
  assert.match(env.err[1]!, /^tpv: error: unknown command "conect"\n\nUsage: tpv COMMAND/);
  assert.equal(await runCli(['help', 'nope'], commands, env), EXIT_USAGE);
});

test('--version prints the version', async () => {
  const env = recordingEnvironment();
  assert.equal(await runCli(['--version'], commands, env), EXIT_OK);
  assert.deepEqual(env.out, ['tpv 9.9.9\n']);
});

test('tpv status without a daemon says it is not running (and exits 0: that is a status)', async () => {
  const env = recordingEnvironment();
  assert.equal(await runCli(['status'], commands, env), EXIT_OK);
  assert.deepEqual(env.out, ['Daemon:     not running\n']);
  const json = recordingEnvironment();
  assert.equal(await runCli(['status', '--json'], commands, json), EXIT_OK);
  assert.deepEqual(JSON.parse(json.out.join('')), { daemon: 'not running' });
});

for (const name of ['vnat', 'disconnect', 'uninstall', 'leave echo', 'ingest echo', 'intercept echo --port 8080:80']) {
  test(`tpv ${name} without a daemon says how to start one`, async () => {
    const env = recordingEnvironment();
    assert.equal(await runCli(name.split(' '), commands, env), EXIT_FAILURE);
    assert.match(env.err.join(''), new RegExp(`^tpv ${name.split(' ')[0]}: error: the daemon is not running \\(nothing is connected\\); start it with "tpv connect"`));
  });
}

test('tpv quit without a daemon is a calm no-op', async () => {
  const env = recordingEnvironment();
  assert.equal(await runCli(['quit'], commands, env), EXIT_OK);
  assert.deepEqual(env.out, ['The daemon is not running.\n']);
});

test('tpv intercept needs --port and says how to give it', async () => {
  const env = recordingEnvironment();
  assert.equal(await runCli(['intercept', 'echo'], commands, env), EXIT_FAILURE);
  assert.match(env.err.join(''), /^tpv intercept: error: say which port to intercept: --port \[LOCAL:\]REMOTE/);
});
