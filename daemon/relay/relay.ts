// Process entry of the in-cluster relay (bundled to dist/relay.js, shipped in
// a ConfigMap and run by a stock `node:20` image: Node built-ins only).
import { readFileSync } from 'node:fs';
import { relayConfigFromEnv } from './relayConfig';
import { RelayEnv } from './relayConstants';
import { stdoutLogger } from './relayLog';
import { startRelay } from './relayServer';

async function main(): Promise<void> {
  let config;
  try {
    config = relayConfigFromEnv(process.env, (p) => readFileSync(p, 'utf8'));
  } catch (e) {
    process.stdout.write(`${new Date().toISOString()} ERROR ${(e as Error).message}\n`);
    process.exit(2);
  }
  const log = stdoutLogger(config.logLevel);
  const relay = await startRelay(config, log);
  // Tests and tooling parse this line to find ephemeral ports.
  log('info', `ready tunnel=${relay.port} health=${relay.healthPort}${relay.interceptPorts.length ? ` intercept=${relay.interceptPorts.join(',')}` : ''}`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log('info', `${signal}: closing tunnels`);
    relay.close(`the relay pod is stopping (${signal})`).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  if (process.env[RelayEnv.logLevel] === 'debug') {
    setInterval(() => log('debug', `stats ${JSON.stringify(relay.stats())}`), 30_000).unref();
  }
}

main().catch((e: unknown) => {
  process.stdout.write(`${new Date().toISOString()} ERROR relay failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
