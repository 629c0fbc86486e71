import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDaemonOptions } from '../../../daemon/session/daemonOptions';

test('daemon options: defaults take the owner from sudo/pkexec', () => {
  const o = parseDaemonOptions([], { SUDO_UID: '1000', SUDO_GID: '1001' });
  assert.equal(o.ownerUid, 1000);
  assert.equal(o.ownerGid, 1001);
  assert.equal(o.device, 'tpv0');
  assert.equal(o.idleExitSeconds, 300);
  assert.equal(parseDaemonOptions([], { PKEXEC_UID: '1002' }).ownerUid, 1002);
});

test('daemon options: both --flag value and --flag=value', () => {
  const o = parseDaemonOptions(['--socket', '/tmp/s.sock', '--owner-uid=7', '--log-level', 'debug', '--idle-exit=0', '--device', 'tpvtest0', '--stderr'], {});
  assert.deepEqual([o.socketPath, o.ownerUid, o.logLevel, o.idleExitSeconds, o.device, o.stderr], ['/tmp/s.sock', 7, 'debug', 0, 'tpvtest0', true]);
});

test('daemon options: bad values say what is expected', () => {
  assert.throws(() => parseDaemonOptions(['--owner-uid', 'bob'], {}), /--owner-uid expects a non-negative integer, got "bob"/);
  assert.throws(() => parseDaemonOptions(['--log-level', 'loud'], {}), /--log-level must be/);
  assert.throws(() => parseDaemonOptions(['--device', 'this-name-is-too-long'], {}), /not a valid interface name/);
  assert.throws(() => parseDaemonOptions(['--socket'], {}), /--socket needs a value/);
  assert.throws(() => parseDaemonOptions(['--frobnicate'], {}), /unknown option --frobnicate/);
});
