import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareVersions, decideHandshake } from '../../../client/daemon/handshake';

test('versions compare numerically, pre-releases before releases', () => {
  assert.equal(compareVersions('1.2.10', '1.2.9'), 1);
  assert.equal(compareVersions('0.1.0', '0.1.0'), 0);
  assert.equal(compareVersions('v2.0', '2.0.0'), 0);
  assert.equal(compareVersions('1.0.0-rc.1', '1.0.0'), -1);
  assert.equal(compareVersions('1.0.0', '1.0.0-rc.1'), 1);
  assert.equal(compareVersions('1.0.0-rc.1', '1.0.0-rc.2'), -1);
});

test('an older daemon is replaced, a newer release is used, a newer protocol is refused', () => {
  const ours = { version: '0.2.0', protocolVersion: 2 };
  assert.equal(decideHandshake({ version: '0.2.0', protocolVersion: 2 }, ours).action, 'use');
  assert.equal(decideHandshake({ version: '0.3.0', protocolVersion: 2 }, ours).action, 'use');
  const older = decideHandshake({ version: '0.1.9', protocolVersion: 2 }, ours);
  assert.equal(older.action, 'replace');
  assert.match((older as { reason: string }).reason, /0\.1\.9.*0\.2\.0/);
  assert.equal(decideHandshake({ version: '9.0.0', protocolVersion: 1 }, ours).action, 'replace');
  const newer = decideHandshake({ version: '0.1.0', protocolVersion: 3 }, ours);
  assert.equal(newer.action, 'client-too-old');
  assert.match((newer as { reason: string }).reason, /update/);
});
