// The lab's Kubernetes API server emulation (contract: test/lab/contracts.ts).
// It keeps every object in memory, runs the controllers a cluster needs for
// the lab's workloads (deployments, replica sets, stateful sets, scheduling,
// endpoints, garbage collection) and serves kubectl, @kubernetes/client-node
// and the lab kubelet over HTTPS. restart() replaces the listener as a new
// kube-apiserver process over the same etcd would (see contracts.ts).
import type * as https from 'node:https';
import type { ApiServerHandle, ApiServerOptions, ApiServerRestart } from '../contracts';
import { parseCidr, numberToIp } from './clusterIpAllocator';
import { ControllerManager } from './controllers/controller';
import { DeploymentController } from './controllers/deployments';
import { EndpointsController } from './controllers/endpoints';
import { GarbageCollector } from './controllers/garbageCollector';
import { ReplicaSetController } from './controllers/replicaSets';
import { Scheduler } from './controllers/scheduler';
import { ServiceAccountsController } from './controllers/serviceAccounts';
import { StatefulSetController } from './controllers/statefulSets';
import { createApiServer } from './apiServer';
import { writeKubeconfig } from './kubeconfig';
import { ensurePki } from './pki';
import { Registry } from './registry';
import { ServerConnections } from './serverConnections';
import { seedCluster } from './seed';

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServerHandle> {
  const log = (msg: string) => process.stderr.write(`${new Date().toISOString()} kubeapi: ${msg}\n`);
  const cidr = parseCidr(opts.serviceCidr);
  // The `kubernetes` service address, so in-cluster clients can verify the certificate too.
  const kubernetesIp = numberToIp(cidr.base + 1);
  const pki = ensurePki(opts.pkiDir, opts.host, [kubernetesIp]);
  const registry = new Registry(opts.serviceCidr);
  seedCluster(registry, opts.nodes);
  const controllers = new ControllerManager(registry, [
    new ServiceAccountsController(pki.caPem), new DeploymentController(), new ReplicaSetController(), new StatefulSetController(),
    new Scheduler(), new EndpointsController(), new GarbageCollector(),
  ], log);
  controllers.start();

  // What a kube-apiserver process is here: a listener with its own connections. The
  // registry (etcd), the certificates and the controllers outlive it across restarts.
  const serve = () => createApiServer({ registry, pki, podRuntime: opts.podRuntime, serverAddress: `${opts.host}:${opts.port}`, log });
  let running = await listen(serve(), opts.host, opts.port);
  // The port actually bound (port 0 in tests): a restarted server must come back on the same one.
  const port = running.port;
  const url = `https://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`;
  let restarting: Promise<ApiServerRestart> | undefined;
  let closed = false;

  const restart = async (downMs: number): Promise<ApiServerRestart> => {
    // kube-controller-manager and the scheduler reach etcd only through the API server:
    // while it is down nothing changes in the store.
    controllers.stop();
    const connectionsCut = await stopListening(running);
    const downAt = Date.now();
    log(`restart: listener closed, ${connectionsCut} connections cut; refusing connections for ${downMs} ms`);
    await new Promise((r) => setTimeout(r, downMs));
    if (closed) throw new Error('the API server was closed while it restarted');
    registry.store.forgetWatchHistory();
    running = await listen(serve(), opts.host, port);
    controllers.start();
    const upAt = Date.now();
    log(`restart: listening again at resourceVersion ${registry.store.resourceVersion}`);
    return { downAt, upAt, connectionsCut, resourceVersion: String(registry.store.resourceVersion) };
  };

  return {
    url,
    caPem: pki.caPem,
    writeKubeconfig(path: string, serverUrl?: string) {
      writeKubeconfig(path, pki, opts.pkiDir, serverUrl ?? url);
    },
    restart({ downMs }) {
      if (!Number.isFinite(downMs) || downMs < 0) return Promise.reject(new Error(`downMs must be a number of milliseconds >= 0, not ${downMs}`));
      if (closed) return Promise.reject(new Error('the API server is closed'));
      if (restarting) return Promise.reject(new Error('the API server is already restarting'));
      const r = restart(downMs).finally(() => { restarting = undefined; });
      restarting = r;
      return r;
    },
    async close() {
      closed = true;
      await restarting?.catch(() => undefined);
      controllers.stop();
      await stopListening(running);
    },
  };
}

interface Listening { server: https.Server; connections: ServerConnections; port: number }

async function listen(server: https.Server, host: string, port: number): Promise<Listening> {
  const connections = new ServerConnections(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new Error(`the API server could not listen on ${host}:${port}: ${err.message}${err.code === 'EADDRINUSE' ? ' (another process holds the port: stop it or pick another port)' : ''}`)));
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return { server, connections, port: typeof address === 'object' && address ? address.port : port };
}

/** Closes the listener (new connections are refused) and cuts every open connection; resolves when all are gone. */
async function stopListening(l: Listening): Promise<number> {
  const closed = new Promise<void>((r) => l.server.close(() => r()));
  const n = l.connections.destroyAll();
  await closed;
  return n;
}
