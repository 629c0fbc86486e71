import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { aliasTunnelProtocol } from '../../lab/apiserver/apiServer';

test("kubectl's SPDY tunnel protocol is offered to ws as a token alias; other protocols pass unchanged", () => {
  const alias = aliasTunnelProtocol('SPDY/3.1+portforward.k8s.io')!;
  assert.match(alias, /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'an RFC 7230 token, which ws accepts');
  assert.equal(aliasTunnelProtocol('v4.channel.k8s.io, SPDY/3.1+portforward.k8s.io'), `v4.channel.k8s.io, ${alias}`);
  assert.equal(aliasTunnelProtocol('portforward.k8s.io'), 'portforward.k8s.io');
  assert.equal(aliasTunnelProtocol(undefined), undefined);
});
