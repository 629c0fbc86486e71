// Wires a cluster connection: discovery, plan, relay, tunnel, TUN, routes,
// DNS and VNAT. (Being assembled as the data-path parts land.)
import type { Logger } from '../log/logger';
import type { Connector } from './connection';

export interface ClusterConnectorOptions {
  stateDir: string;
  device: string;
  logger: Logger;
}

export function createClusterConnector(opts: ClusterConnectorOptions): Connector {
  const log = opts.logger.scoped('connector');
  const unavailable = async (): Promise<never> => {
    throw new Error('this daemon build cannot connect yet: the data path is not wired in');
  };
  return {
    connect: unavailable,
    plan: unavailable,
    uninstall: unavailable,
    repair: async () => { log.debug('nothing to repair'); return []; },
  };
}
