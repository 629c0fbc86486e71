import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseContainer, labelSelectorText, parseEnvOutput } from '../../../daemon/intercept/containerEnv';
import { envFileText } from '../../../cli/envFile';

test('env -0 output keeps values with newlines and equals signs', () => {
  const out = 'A=1\0B=x=y\0MULTI=line1\nline2\0EMPTY=\0';
  assert.deepEqual(parseEnvOutput(out, true), { A: '1', B: 'x=y', MULTI: 'line1\nline2', EMPTY: '' });
});

test('plain env output is split by lines, junk without a name is ignored', () => {
  assert.deepEqual(parseEnvOutput('A=1\n=nameless\nnoequals\nB=2\n', false), { A: '1', B: '2' });
});

test('label selectors become the API\'s selector syntax', () => {
  assert.equal(labelSelectorText({ matchLabels: { app: 'echo', tier: 'web' } }), 'app=echo,tier=web');
  assert.equal(labelSelectorText({ matchExpressions: [{ key: 'env', operator: 'In', values: ['a', 'b'] }, { key: 'x', operator: 'Exists' }, { key: 'y', operator: 'DoesNotExist' }, { key: 'z', operator: 'NotIn', values: ['c'] }] }), 'env in (a,b),x,!y,z notin (c)');
});

test('the container is the named one, else the first that is not our agent', () => {
  const spec = { containers: [{ name: 'tpv-agent' }, { name: 'app' }, { name: 'sidecar' }] };
  assert.equal(chooseContainer(spec, undefined, 'default/echo'), 'app');
  assert.equal(chooseContainer(spec, 'sidecar', 'default/echo'), 'sidecar');
  assert.throws(() => chooseContainer(spec, 'db', 'default/echo'), /workload default\/echo has no container "db"; its containers are: app, sidecar/);
});

test('env files are sorted KEY=VALUE lines; multi-line values are reported, not mangled', () => {
  assert.deepEqual(envFileText({ B: '2', A: 'http://246.246.0.1:80', M: 'a\nb' }), { text: 'A=http://246.246.0.1:80\nB=2\n', skipped: ['M'] });
  assert.deepEqual(envFileText({}), { text: '', skipped: [] });
});
