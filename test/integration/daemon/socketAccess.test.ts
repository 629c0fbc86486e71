// A second Unix user must not reach the root daemon's socket; the owner and
// root must. Runs the real socket gate with clients in processes of other uids.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '../../../daemon/log/logger';
import { Methods, PROTOCOL_VERSION } from '../../../daemon/protocol/rpc';
import { RpcServer } from '../../../daemon/server/rpcServer';

const OWNER = 4242;
const STRANGER = 4343;
const isRoot = process.getuid?.() === 0;
const skip = isRoot ? false : 'needs root to run clients as other users';

let dir = '';
let server: RpcServer;
const refusedUids: number[] = [];

before(async () => {
  if (!isRoot) return;
  dir = mkdtempSync(join(tmpdir(), 'tpv-sock-'));
  chmodSync(dir, 0o755);
  const logger = new Logger(undefined, 'info');
  logger.subscribe((e) => { const m = /from uid (\d+)/.exec(e.message); if (m) refusedUids.push(Number(m[1])); }, 'warn');
  server = new RpcServer({
    socketPath: join(dir, 'daemon.sock'), ownerUid: OWNER, ownerGid: OWNER, log: logger.scoped('rpc'),
    onConnection: (c) => c.rpc.onRequest(Methods.version, () => ({ version: 'test', protocolVersion: PROTOCOL_VERSION, pid: process.pid })),
    onDisconnect: () => undefined,
  });
  await server.listen();
});

after(async () => {
  if (!isRoot) return;
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs a JSON-RPC `version` call from a process with the given uid. */
// Asynchronous: the server under test lives in this process's event loop.
function callAs(uid: number): Promise<{ ok: boolean; out: string }> {
  const script = `
    const net = require('net');
    const { createMessageConnection, StreamMessageReader, StreamMessageWriter } = require('vscode-jsonrpc/node');
    const s = net.connect(process.argv[1]);
    s.on('error', (e) => { console.log('ERR ' + e.code); process.exit(3); });
    s.on('connect', async () => {
      const c = createMessageConnection(new StreamMessageReader(s), new StreamMessageWriter(s));
      c.listen();
      s.on('close', () => { console.log('CLOSED'); process.exit(4); });
      const r = await c.sendRequest('version');
      console.log('OK ' + r.protocolVersion); process.exit(0);
    });
    setTimeout(() => { console.log('TIMEOUT'); process.exit(5); }, 5000);`;
  const child = spawn(process.execPath, ['-e', script, join(dir, 'daemon.sock')], { uid, gid: uid, cwd: process.cwd() });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ ok: code === 0, out: out.trim() })));
}

test('the owner gets an RPC connection', { skip }, async () => {
  const r = await callAs(OWNER);
  assert.equal(r.out, `OK ${PROTOCOL_VERSION}`);
});

test('root gets an RPC connection', { skip }, async () => {
  assert.equal((await callAs(0)).out, `OK ${PROTOCOL_VERSION}`);
});

test('another user is refused by the socket\'s permissions', { skip }, async () => {
  const r = await callAs(STRANGER);
  assert.equal(r.ok, false);
  assert.match(r.out, /ERR EACCES/);
});

test('another user is refused by the peer-credential check even when the socket file is open to all', { skip }, async () => {
  chmodSync(join(dir, 'daemon.sock'), 0o666);
  try {
    const r = await callAs(STRANGER);
    assert.equal(r.ok, false, r.out);
    // The server hangs up before reading: the client sees the close or a broken pipe, never an answer.
    assert.match(r.out, /^(CLOSED|ERR EPIPE|ERR ECONNRESET)$/);
    assert.ok(refusedUids.includes(STRANGER), 'the refusal is logged with the uid');
  } finally {
    chmodSync(join(dir, 'daemon.sock'), 0o600);
  }
});
