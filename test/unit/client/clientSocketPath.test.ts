import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SOCKET_PATH, clientSocketPath } from '../../../daemon/protocol/socketPath';

test('a setting the user made wins over TPV_SOCKET', () => {
  assert.equal(clientSocketPath('/run/me/d.sock', { TPV_SOCKET: '/tmp/other.sock' }), '/run/me/d.sock');
});

test('no setting: TPV_SOCKET, as tpv uses it, so both find the same daemon', () => {
  assert.equal(clientSocketPath(undefined, { TPV_SOCKET: '/tmp/other.sock' }), '/tmp/other.sock');
});

test('blank values count as unset', () => {
  assert.equal(clientSocketPath('  ', { TPV_SOCKET: ' /tmp/other.sock ' }), '/tmp/other.sock');
  assert.equal(clientSocketPath('', { TPV_SOCKET: '' }), DEFAULT_SOCKET_PATH);
});

test('neither: the default socket', () => {
  assert.equal(clientSocketPath(undefined, {}), DEFAULT_SOCKET_PATH);
});
