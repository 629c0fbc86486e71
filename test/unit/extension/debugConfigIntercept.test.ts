import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { INJECTED_MARK, generatedLaunchConfig, interceptRequest, withWorkloadEnv, type DebugConfigLike } from '../../../extension/debug/debugConfigIntercept';

const launch = (extra: Record<string, unknown> = {}): DebugConfigLike => ({ type: 'node', name: 'srv', request: 'launch', ...extra });

describe('launch configurations with a "telepresence" block', () => {
  test('a launch request with the block asks for an intercept, in the connected namespace by default', () => {
    assert.deepEqual(interceptRequest(launch({ telepresence: { workload: 'echo', port: '18080:80' } }), 'default'),
      { workload: 'echo', namespace: 'default', port: '18080:80', mode: 'intercept' });
    assert.deepEqual(interceptRequest(launch({ telepresence: { workload: 'echo', namespace: 'team-a', port: 8080, container: 'app' } }), 'default'),
      { workload: 'echo', namespace: 'team-a', port: '8080', mode: 'intercept', container: 'app' });
  });

  test('no block, attach requests, child sessions and configurations already injected are left alone', () => {
    assert.equal(interceptRequest(launch(), 'default'), undefined);
    const block = { telepresence: { workload: 'echo', port: '80' } };
    assert.equal(interceptRequest({ ...launch(block), request: 'attach' }, 'default'), undefined);
    assert.equal(interceptRequest(launch({ ...block, __pendingTargetId: 'x' }), 'default'), undefined);
    assert.equal(interceptRequest(launch({ ...block, [INJECTED_MARK]: true }), 'default'), undefined);
  });

  test('malformed blocks say what to write', () => {
    assert.throws(() => interceptRequest(launch({ telepresence: 'echo' }), 'default'), /must be an object like \{ "workload": "echo", "port": "8080" \}/);
    assert.throws(() => interceptRequest(launch({ telepresence: { workload: 'Echo_1', port: '80' } }), 'default'), /"telepresence.workload" in launch configuration "srv" must be the name of a Deployment/);
    assert.throws(() => interceptRequest(launch({ telepresence: { workload: 'echo' } }), 'default'), /"telepresence.port" .* must be \[LOCAL:\]REMOTE/);
    assert.throws(() => interceptRequest(launch({ telepresence: { workload: 'echo', port: '80', namespace: 'NS' } }), 'default'), /"telepresence.namespace"/);
  });

  test("the workload's environment goes under the configuration's own env, which wins, and the result is marked", () => {
    const out = withWorkloadEnv(launch({ env: { LOG_LEVEL: 'debug' } }), { ECHO_SERVICE_HOST: '246.246.0.1', LOG_LEVEL: 'info' }, 'k1');
    assert.deepEqual(out.env, { ECHO_SERVICE_HOST: '246.246.0.1', LOG_LEVEL: 'debug' });
    assert.equal(out[INJECTED_MARK], true);
    assert.equal(out.__telepresenceSession, 'k1');
    assert.equal(interceptRequest({ ...out, telepresence: { workload: 'echo', port: '80' } }, 'default'), undefined, 'a restart does not intercept twice');
  });

  test('generated configurations for Node, Python and Go carry the block and are valid requests', () => {
    for (const lang of ['node', 'python', 'go'] as const) {
      const c = generatedLaunchConfig(lang, 'echo', 'default', '18080:80');
      assert.equal(c.request, 'launch');
      assert.deepEqual(interceptRequest(c, 'x'), { workload: 'echo', namespace: 'default', port: '18080:80', mode: 'intercept' });
    }
    assert.equal(generatedLaunchConfig('python', 'echo', 'default', '80').type, 'debugpy');
  });
});
