import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type FlagSpec, UsageError, flagBoolean, flagList, flagString, formatFlagHelp, parseArgs } from '../../../cli/argParser';

const specs: FlagSpec[] = [
  { name: 'json', kind: 'boolean', description: 'JSON output' },
  { name: 'config', kind: 'string', valueName: 'PATH', description: 'config file' },
  { name: 'vnat', kind: 'list', valueName: 'CIDR', description: 'translate' },
];

test('--flag value and --flag=value are the same', () => {
  assert.equal(flagString(parseArgs(['--config', '/a.yml'], specs), 'config'), '/a.yml');
  assert.equal(flagString(parseArgs(['--config=/a.yml'], specs), 'config'), '/a.yml');
  assert.equal(flagString(parseArgs(['--config=a=b'], specs), 'config'), 'a=b', 'only the first = splits');
});

test('list flags repeat and keep their order', () => {
  assert.deepEqual(flagList(parseArgs(['--vnat', 'service', '--vnat=10.0.0.0/8', '--vnat', 'pods'], specs), 'vnat'), ['service', '10.0.0.0/8', 'pods']);
  assert.deepEqual(flagList(parseArgs([], specs), 'vnat'), []);
});

test('booleans: bare, =true, =false; a string flag given twice keeps the last', () => {
  assert.equal(flagBoolean(parseArgs(['--json'], specs), 'json'), true);
  assert.equal(flagBoolean(parseArgs(['--json=false'], specs), 'json'), false);
  assert.equal(flagBoolean(parseArgs([], specs), 'json'), false);
  assert.equal(flagString(parseArgs(['--config', 'a', '--config', 'b'], specs), 'config'), 'b');
});

test('--help and -h anywhere set help; -- ends the flags', () => {
  assert.equal(parseArgs(['--vnat', 'all', '-h'], specs).help, true);
  assert.deepEqual(parseArgs(['x', '--', '--json', '-y'], specs), { flags: {}, positionals: ['x', '--json', '-y'], help: false });
});

test('unknown flags are usage errors, with a suggestion when one is close', () => {
  assert.throws(() => parseArgs(['--jsn'], specs), (e: unknown) => e instanceof UsageError && e.message === 'unknown flag --jsn (did you mean --json?)');
  assert.throws(() => parseArgs(['--frobnicate'], specs), /^UsageError: unknown flag --frobnicate$/);
  assert.throws(() => parseArgs(['-x'], specs), /unknown flag -x/);
});

test('a missing value is a usage error naming the flag and its value', () => {
  assert.throws(() => parseArgs(['--config'], specs), /flag --config needs a value \(PATH\)/);
  assert.throws(() => parseArgs(['--vnat', '--json'], specs), /flag --vnat needs a value \(CIDR\)/);
  assert.throws(() => parseArgs(['--json=yes'], specs), /flag --json takes no value/);
});

test('flag help is aligned and marks repeatable flags', () => {
  const lines = formatFlagHelp(specs).split('\n');
  assert.deepEqual(lines.map((l) => l.indexOf(l.trim().split(/\s{2,}/)[1]!)), [lines[0]!.indexOf('JSON'), lines[0]!.indexOf('JSON'), lines[0]!.indexOf('JSON')]);
  assert.match(lines[2]!, /--vnat CIDR\s+translate \(repeatable\)$/);
});
