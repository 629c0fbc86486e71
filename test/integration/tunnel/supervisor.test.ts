// Relay killed mid-transfer: streams fail with a clear error, the supervisor
// reports the drop, fails new opens fast while down, and reconnects to the
// restarted relay (found again through its openTransport callback).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { TunnelError } from '../../../daemon/tunnel/tunnelErrors';
import { TunnelSupervisor, type TunnelDown } from '../../../daemon/tunnel/tunnelSupervisor';
import { until } from '../../unit/tunnel/sessionPair';
import { SECRET, echoServer, startRelayProcess, tcpTransport, type RelayProcess } from './relayProcess';

test('relay killed mid-transfer: streams fail clearly, the supervisor reconnects to the restarted relay', async () => {
  const echo = await echoServer();
  let relay: RelayProcess = await startRelayProcess();
  let transports = 0;
  const sup = new TunnelSupervisor({
    // Stands in for findRelayPod() + port-forward: always the relay running now.
    openTransport: async () => { transports++; return tcpTransport(relay.port); },
    secret: SECRET,
    software: 'tpv-daemon/test',
    backoff: { initialMs: 50, maxMs: 400 },
    session: { keepaliveIntervalMs: 1000, keepaliveTimeoutMs: 3000 },
  });
  const states: string[] = [];
  const downs: TunnelDown[] = [];
  sup.on('state', (s) => states.push(s));
  sup.on('down', (d) => downs.push(d));
  try {
    sup.start();
    await sup.waitUntilUp(5000);

    const stream = await sup.openTcp({ host: '127.0.0.1', port: echo.port });
    const failed = new Promise<TunnelError>((resolve) => stream.once('error', (e) => resolve(e as TunnelError)));
    let echoed = 0;
    stream.on('data', (c: Buffer) => {
      echoed += c.length;
      if (echoed > 1024 * 1024) relay.kill('SIGKILL'); // mid-transfer
    });
    const feed = setInterval(() => { if (!stream.destroyed) stream.write(randomBytes(64 * 1024)); }, 1);
    const err = await failed;
    clearInterval(feed);
    assert.equal(err.code, 'ETUNNELCLOSED');
    assert.match(err.message, /tunnel connection (closed|failed)/);

    // While down (no relay yet), opens fail at once.
    await until(() => sup.state !== 'up', 2000, 'the supervisor to notice');
    const t0 = performance.now();
    await assert.rejects(sup.openTcp({ host: '127.0.0.1', port: echo.port }), (e: unknown) => e instanceof TunnelError && e.code === 'ETUNNELDOWN');
    assert.ok(performance.now() - t0 < 50);
    await until(() => downs.length >= 2, 5000, 'a failed reconnect attempt while the relay is gone');

    relay = await startRelayProcess(); // a new pod, on a new port
    await sup.waitUntilUp(5000);
    const again = await sup.openTcp({ host: '127.0.0.1', port: echo.port });
    const back: Buffer[] = [];
    again.on('data', (c: Buffer) => back.push(c));
    again.end('after the restart');
    await until(() => Buffer.concat(back).toString() === 'after the restart', 3000, 'echo through the new relay');

    assert.ok(transports >= 3, `transport opened ${transports} times`);
    assert.deepEqual(states.slice(0, 4), ['connecting', 'up', 'down', 'connecting']);
    assert.equal(states.at(-1), 'up');
    // Backoff grows between consecutive failures (jitter keeps each within [d/2, d]).
    assert.ok(downs.every((d, i) => i === 0 || d.failures > downs[i - 1]!.failures || d.failures === 1));
  } finally {
    await sup.stop();
    relay.kill();
    await echo.close();
  }
});
