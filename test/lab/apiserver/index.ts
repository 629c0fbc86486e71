// The lab's Kubernetes API server emulation (contract: test/lab/contracts.ts).
// It keeps every object in memory, runs the controllers a cluster needs for
// the lab's workloads (deployments, replica sets, stateful sets, scheduling,
// endpoints, garbage collection) and serves kubectl, @kubernetes/client-node
// and the lab kubelet over HTTPS.
import type { ApiServerHandle, ApiServerOptions } from '../contracts';
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

  const server = createApiServer({ registry, pki, podRuntime: opts.podRuntime, serverAddress: `${opts.host}:${opts.port}`, log });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new Error(`the API server could not listen on ${opts.host}:${opts.port}: ${err.message}${err.code === 'EADDRINUSE' ? ' (another process holds the port: stop it or pick another port)' : ''}`)));
    server.listen(opts.port, opts.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const url = `https://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`;
  return {
    url,
    caPem: pki.caPem,
    writeKubeconfig(path: string, serverUrl?: string) {
      writeKubeconfig(path, pki, opts.pkiDir, serverUrl ?? url);
    },
    async close() {
      controllers.stop();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
