// The elevated daemon: one per machine, serving the owner's clients over a
// Unix socket. Whatever happens (quit, SIGTERM, uncaught error), the
// workstation's network is put back before the process ends; after a kill -9
// the next start repairs from the journal.
import { Logger } from './log/logger';
import { RpcServer } from './server/rpcServer';
import { createClusterConnector } from './session/clusterConnector';
import { DaemonService } from './session/daemonService';
import { parseDaemonOptions } from './session/daemonOptions';

async function main(): Promise<void> {
  let opts;
  try {
    opts = parseDaemonOptions(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(2);
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('daemon: must run as root (it creates a TUN device, routes and DNS settings); start it through the extension or `sudo tpv connect`\n');
    process.exit(1);
  }
  const logger = new Logger(opts.logFile, opts.logLevel, opts.stderr);
  const log = logger.scoped('daemon');
  const connector = createClusterConnector({ stateDir: opts.stateDir, device: opts.device, logger, ...(opts.relayImage ? { relayImage: opts.relayImage } : {}) });

  const repaired = await connector.repair();
  if (repaired.length > 0) log.warn(`repaired what a previous daemon left behind: ${repaired.join('; ')}`);
  if (opts.repairOnly) {
    process.stdout.write(repaired.length ? `reverted: ${repaired.join('; ')}\n` : 'nothing to repair\n');
    process.exit(0);
  }

  let stopping = false;
  const stop = async (code: number, why: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`stopping: ${why}`);
    try { await service.disconnect(); } catch (e) { log.error(`disconnect during stop: ${String(e)}`); }
    try { await connector.repair(); } catch (e) { log.error(`final repair: ${String(e)}`); }
    await server.close();
    process.exit(code);
  };
  const service: DaemonService = new DaemonService(logger, connector, opts.ownerUid, () => void stop(0, 'quit requested'), opts.idleExitSeconds);
  let attach: ReturnType<DaemonService['attach']> | undefined;
  const server = new RpcServer({
    socketPath: opts.socketPath,
    ownerUid: opts.ownerUid,
    ownerGid: opts.ownerGid,
    log: logger.scoped('rpc'),
    onConnection: (c) => attach?.onConnection(c),
    onDisconnect: (c) => attach?.onDisconnect(c),
  });
  attach = service.attach(server);
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => void stop(0, sig));
  process.on('uncaughtException', (e) => { log.error(`uncaught: ${e.stack ?? e.message}`); void stop(1, 'uncaught exception'); });
  process.on('unhandledRejection', (e) => { log.error(`unhandled rejection: ${String(e)}`); });

  await server.listen();
  log.info(`daemon ${process.pid} listening on ${opts.socketPath} for uid ${opts.ownerUid}`);
  // Tell a launcher that waits on stdout that the socket is ready.
  process.stdout.write(`ready ${opts.socketPath}\n`);
}

void main();
