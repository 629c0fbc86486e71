import { strict as assert } from 'node:assert';
import { Agent, type RequestOptions } from 'node:https';
import { describe, test } from 'node:test';
import { withAgentTlsOptions } from '../../../extension/kube/agentTlsOptions';

describe('withAgentTlsOptions (client certificates survive VS Code proxy support)', () => {
  test("copies the agent's CA, client certificate and key onto the request options", () => {
    const agent = new Agent({ ca: 'CA', cert: 'CERT', key: 'KEY', rejectUnauthorized: true });
    const out: RequestOptions = withAgentTlsOptions<RequestOptions>({ host: 'h', agent });
    assert.equal(out.ca, 'CA');
    assert.equal(out.cert, 'CERT');
    assert.equal(out.key, 'KEY');
    assert.equal(out.rejectUnauthorized, true);
    assert.equal(out.agent, agent, 'the agent stays for callers that keep it');
  });

  test('never overrides what the request sets itself', () => {
    const out: RequestOptions = withAgentTlsOptions<RequestOptions>({ agent: new Agent({ cert: 'AGENT' }), cert: 'REQUEST' });
    assert.equal(out.cert, 'REQUEST');
  });

  test('requests without an agent (or with agent: false) are returned unchanged', () => {
    const plain = { host: 'h' };
    assert.equal(withAgentTlsOptions(plain), plain);
    const noAgent = { host: 'h', agent: false as const };
    assert.equal(withAgentTlsOptions(noAgent), noAgent);
  });
});
