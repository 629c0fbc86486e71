import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  defaultClientConfigPath, loadClientConfig, mergeRoutingConfig, parseClientConfig, parseVsCodeRoutingSettings,
} from '../../../daemon/config/clientConfig';

const FILE = '/home/dev/.config/telepresence/config.yml';

test('reads every routing key of config.yml', () => {
  const text = [
    'logLevels:',
    '  userDaemon: debug',
    'routing:',
    '  virtualSubnet: 100.10.20.0/24',
    '  autoResolveConflicts: false',
    '  allowConflictingSubnets: [10.128.0.0/9]',
    '  neverProxy:',
    '    - 10.130.5.0/24',
    '  alsoProxy: 172.30.0.0/16',
  ].join('\n');
  assert.deepEqual(parseClientConfig(text, FILE), {
    virtualSubnet: '100.10.20.0/24',
    autoResolveConflicts: false,
    allowConflictingSubnets: ['10.128.0.0/9'],
    neverProxy: ['10.130.5.0/24'],
    alsoProxy: ['172.30.0.0/16'],
  });
});

test('the seed\'s single-string form and Helm\'s "{a,b}" form are lists', () => {
  assert.deepEqual(parseClientConfig('routing:\n  allowConflictingSubnets: 10.128.0.0/9\n', FILE).allowConflictingSubnets, ['10.128.0.0/9']);
  assert.deepEqual(parseClientConfig('routing:\n  allowConflictingSubnets: "{10.128.0.0/9}"\n', FILE).allowConflictingSubnets, ['10.128.0.0/9']);
  assert.deepEqual(parseClientConfig('routing:\n  neverProxy: "{10.1.0.0/16, 10.2.0.0/16}"\n', FILE).neverProxy, ['10.1.0.0/16', '10.2.0.0/16']);
});

test('the old cluster.virtualIPSubnet is read; routing.virtualSubnet wins when both are set', () => {
  assert.equal(parseClientConfig('cluster:\n  virtualIPSubnet: 211.55.48.0/20\n', FILE).virtualSubnet, '211.55.48.0/20');
  assert.equal(parseClientConfig('cluster:\n  virtualIPSubnet: 211.55.48.0/20\nrouting:\n  virtualSubnet: 246.246.0.0/16\n', FILE).virtualSubnet, '246.246.0.0/16');
});

test('an empty file, or one without routing, is an empty config', () => {
  assert.deepEqual(parseClientConfig('', FILE), {});
  assert.deepEqual(parseClientConfig('timeouts:\n  agentInstall: 2m\n', FILE), {});
});

test('quoted booleans (as Helm --set writes them) are accepted', () => {
  assert.equal(parseClientConfig('routing:\n  autoResolveConflicts: "false"\n', FILE).autoResolveConflicts, false);
});

for (const [yaml, pattern] of [
  ['routing:\n  virtualSubnet: 246.246.0.0\n', /^Error: routing\.virtualSubnet: "246\.246\.0\.0" is not a CIDR \(in \/home\/dev\/\.config\/telepresence\/config\.yml\)/],
  ['routing:\n  autoResolveConflicts: sometimes\n', /^Error: routing\.autoResolveConflicts: "sometimes" is not true or false \(in \/home\/dev/],
  ['routing:\n  allowConflictingSubnets: [10.128.0.0/9, ten]\n', /^Error: routing\.allowConflictingSubnets: "ten" is not a CIDR \(in \/home\/dev/],
  ['routing:\n  neverProxy: 42\n', /^Error: routing\.neverProxy: 42 is not a list of CIDRs \(in \/home\/dev.*e\.g\. neverProxy: \[10\.128\.0\.0\/9\]/],
  ['cluster:\n  virtualIPSubnet: nope\n', /^Error: cluster\.virtualIPSubnet: "nope" is not a CIDR \(in \/home\/dev/],
  ['routing: [1, 2]\n', /^Error: routing: \[1,2\] must be a mapping/],
  ['routing:\n  virtualSubnet: [\n', /config\.yml is not valid YAML: .*fix the file or move it away/],
  ['- a\n- b\n', /config\.yml must hold a YAML mapping/],
] as const) {
  test(`bad config names key, value and file: ${JSON.stringify(yaml.split('\n')[1] ?? yaml.split('\n')[0])}`, () => {
    assert.throws(() => parseClientConfig(yaml, FILE), pattern);
  });
}

test('loadClientConfig: a missing file is an empty config, not an error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tpv-config-'));
  try {
    const missing = loadClientConfig({ path: join(dir, 'config.yml') });
    assert.deepEqual(missing, { path: join(dir, 'config.yml'), found: false, routing: {} });
    writeFileSync(join(dir, 'config.yml'), 'routing:\n  allowConflictingSubnets: 10.128.0.0/9\n');
    assert.deepEqual(loadClientConfig({ path: join(dir, 'config.yml') }).routing, { allowConflictingSubnets: ['10.128.0.0/9'] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loadClientConfig: an unreadable file is an error naming it', () => {
  const eacces = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
  assert.throws(() => loadClientConfig({ path: '/x/config.yml', readFile: () => { throw eacces; } }), /cannot read \/x\/config\.yml: EACCES/);
});

test('default config.yml location per platform (XDG honoured on Linux)', () => {
  assert.equal(defaultClientConfigPath('linux', {}, '/home/dev'), '/home/dev/.config/telepresence/config.yml');
  assert.equal(defaultClientConfigPath('linux', { XDG_CONFIG_HOME: '/cfg' }, '/home/dev'), '/cfg/telepresence/config.yml');
  assert.equal(defaultClientConfigPath('darwin', {}, '/Users/dev'), '/Users/dev/Library/Application Support/telepresence/config.yml');
  assert.match(defaultClientConfigPath('win32', { APPDATA: 'C:/Users/dev/AppData/Roaming' }, 'C:/Users/dev'), /Roaming[\\/]telepresence[\\/]config\.yml$/);
});

test('VS Code settings: empty values mean "not set"; bad values name the setting', () => {
  assert.deepEqual(parseVsCodeRoutingSettings({ virtualSubnet: '', autoResolveConflicts: null, allowConflictingSubnets: [], neverProxy: ['10.1.0.0/16'] }), { neverProxy: ['10.1.0.0/16'] });
  assert.throws(() => parseVsCodeRoutingSettings({ virtualSubnet: 'x' }), /^Error: telepresence\.routing\.virtualSubnet: "x" is not a CIDR \(in the VS Code settings\)/);
});

test('merge: config.yml < VS Code settings < flags, key by key', () => {
  const file = { virtualSubnet: '246.246.0.0/16', autoResolveConflicts: false, allowConflictingSubnets: ['10.128.0.0/9'], neverProxy: ['10.1.0.0/16'] };
  const settings = parseVsCodeRoutingSettings({ virtualSubnet: '100.10.20.0/24', allowConflictingSubnets: ['10.0.0.0/9'] });
  const flags = { autoResolveConflicts: true };
  assert.deepEqual(mergeRoutingConfig(file, settings, flags), {
    virtualSubnet: '100.10.20.0/24',
    autoResolveConflicts: true,
    allowConflictingSubnets: ['10.0.0.0/9'],
    neverProxy: ['10.1.0.0/16'],
  });
  assert.deepEqual(mergeRoutingConfig(undefined, {}), {});
});

test('merge copies lists (later edits of a layer do not leak into the result)', () => {
  const layer = { alsoProxy: ['172.30.0.0/16'] };
  const merged = mergeRoutingConfig(layer);
  layer.alsoProxy.push('172.31.0.0/16');
  assert.deepEqual(merged.alsoProxy, ['172.30.0.0/16']);
});
