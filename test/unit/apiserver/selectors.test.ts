import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { ApiStatusError } from '../../lab/apiserver/apiStatus';
import {
  formatSelector, matchesFields, matchesRequirements, parseFieldSelector, parseLabelSelector, requirementsOf,
} from '../../lab/apiserver/selectors';

const matches = (selector: string, labels: Record<string, string> | undefined) => matchesRequirements(labels, parseLabelSelector(selector));

describe('label selectors', () => {
  test('parse equality, inequality, set-based and existence requirements', () => {
    assert.deepEqual(parseLabelSelector('app=echo, tier!=db,env in (a, b),zone notin (x),legacy,!beta,k==v'), [
      { key: 'app', op: 'eq', value: 'echo' },
      { key: 'tier', op: 'neq', value: 'db' },
      { key: 'env', op: 'in', values: ['a', 'b'] },
      { key: 'zone', op: 'notin', values: ['x'] },
      { key: 'legacy', op: 'exists' },
      { key: 'beta', op: 'notexists' },
      { key: 'k', op: 'eq', value: 'v' },
    ]);
    assert.deepEqual(parseLabelSelector(''), []);
    assert.deepEqual(parseLabelSelector(null), []);
  });

  test('= and == need the label with that value', () => {
    assert.equal(matches('app=echo', { app: 'echo' }), true);
    assert.equal(matches('app==echo', { app: 'echo', x: '1' }), true);
    assert.equal(matches('app=echo', { app: 'web' }), false);
    assert.equal(matches('app=echo', {}), false);
    assert.equal(matches('app=echo', undefined), false);
  });

  test('!= matches a different value and a missing label', () => {
    assert.equal(matches('tier!=db', { tier: 'web' }), true);
    assert.equal(matches('tier!=db', {}), true);
    assert.equal(matches('tier!=db', { tier: 'db' }), false);
  });

  test('in needs the label with one of the values; notin refuses them and accepts a missing label', () => {
    assert.equal(matches('env in (a,b)', { env: 'b' }), true);
    assert.equal(matches('env in (a,b)', { env: 'c' }), false);
    assert.equal(matches('env in (a,b)', {}), false);
    assert.equal(matches('env notin (a,b)', { env: 'c' }), true);
    assert.equal(matches('env notin (a,b)', {}), true);
    assert.equal(matches('env notin (a,b)', { env: 'a' }), false);
  });

  test('exists and !key look only at presence (an empty value is present)', () => {
    assert.equal(matches('legacy', { legacy: '' }), true);
    assert.equal(matches('legacy', {}), false);
    assert.equal(matches('!legacy', {}), true);
    assert.equal(matches('!legacy', { legacy: 'x' }), false);
  });

  test('every requirement must hold', () => {
    const sel = 'app=echo,env in (prod),!canary';
    assert.equal(matches(sel, { app: 'echo', env: 'prod' }), true);
    assert.equal(matches(sel, { app: 'echo', env: 'prod', canary: 'true' }), false);
    assert.equal(matches(sel, { app: 'echo', env: 'dev' }), false);
  });

  test('a malformed requirement is a 400 naming the part', () => {
    assert.throws(() => parseLabelSelector('app=echo,a b'), (err: unknown) => {
      assert.ok(err instanceof ApiStatusError);
      assert.equal(err.code, 400);
      assert.match(err.message, /unable to parse requirement: found 'a b'/);
      return true;
    });
  });

  test('workload selectors: matchLabels and matchExpressions, and the text kubectl shows', () => {
    const sel = {
      matchLabels: { app: 'echo' },
      matchExpressions: [
        { key: 'env', operator: 'In' as const, values: ['a', 'b'] },
        { key: 'zone', operator: 'NotIn' as const, values: ['x'] },
        { key: 'tier', operator: 'Exists' as const },
        { key: 'canary', operator: 'DoesNotExist' as const },
      ],
    };
    const reqs = requirementsOf(sel);
    assert.equal(matchesRequirements({ app: 'echo', env: 'a', tier: 'web' }, reqs), true);
    assert.equal(matchesRequirements({ app: 'echo', env: 'a' }, reqs), false);
    assert.equal(matchesRequirements({ app: 'echo', env: 'a', tier: 'web', canary: '1' }, reqs), false);
    assert.equal(formatSelector(sel), 'app=echo,env in (a,b),zone notin (x),tier,!canary');
    assert.deepEqual(requirementsOf(undefined), []);
    assert.equal(matchesRequirements({ any: 'thing' }, requirementsOf({})), true);
  });
});

describe('field selectors', () => {
  const pod = { metadata: { name: 'p1', namespace: 'default' }, spec: { nodeName: 'node-1' }, status: { phase: 'Running' } };

  test('= , == and != on pod fields', () => {
    assert.equal(matchesFields(pod, parseFieldSelector('spec.nodeName=node-1', 'Pod')), true);
    assert.equal(matchesFields(pod, parseFieldSelector('status.phase==Running,metadata.name=p1', 'Pod')), true);
    assert.equal(matchesFields(pod, parseFieldSelector('status.phase!=Running', 'Pod')), false);
    assert.equal(matchesFields(pod, parseFieldSelector('metadata.name!=p2', 'Pod')), true);
    assert.equal(matchesFields(pod, parseFieldSelector('spec.nodeName=node-2', 'Pod')), false);
  });

  test('a missing field compares as the empty string (unscheduled pods: spec.nodeName=)', () => {
    const pending = { metadata: { name: 'p2' }, spec: {} };
    assert.equal(matchesFields(pending, parseFieldSelector('spec.nodeName=', 'Pod')), true);
    assert.equal(matchesFields(pending, parseFieldSelector('spec.nodeName!=', 'Pod')), false);
  });

  test('other kinds accept metadata fields only (and secrets their type)', () => {
    assert.deepEqual(parseFieldSelector('metadata.name=x', 'Service'), [{ field: 'metadata.name', op: 'eq', value: 'x' }]);
    assert.deepEqual(parseFieldSelector('type=Opaque', 'Secret'), [{ field: 'type', op: 'eq', value: 'Opaque' }]);
    assert.throws(() => parseFieldSelector('spec.nodeName=n', 'Service'), /"spec.nodeName" is not a known field selector/);
    assert.throws(() => parseFieldSelector('spec.bogus=1', 'Pod'), /field label not supported: spec.bogus/);
    assert.throws(() => parseFieldSelector('justaword', 'Pod'), /invalid selector: 'justaword'/);
  });
});
