// kube-proxy for the lab node: whenever Services or Endpoints change, rebuild
// the whole nftables table and apply it atomically with `nft -f -` (run in
// the node's network namespace, where the control plane lives).
import type { V1Endpoints, V1Service } from '@kubernetes/client-node';
import type { Informer } from '../kubelet/informer';
import { run } from '../network/run';
import { PROXY_TABLE, proxyRuleset, proxyServicePorts } from './nftRuleset';

export interface KubeProxyOptions {
  serviceCidr: string;
  services: Informer<V1Service>;
  endpoints: Informer<V1Endpoints>;
  log(msg: string): void;
}

export class KubeProxy {
  private applied = '';
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> = Promise.resolve();
  private syncs = 0;

  constructor(private readonly opts: KubeProxyOptions) {}

  start(): Promise<void> {
    const kick = () => this.schedule();
    this.opts.services.on(kick);
    this.opts.endpoints.on(kick);
    return this.sync();
  }

  /** Number of rulesets applied so far (tests wait for a change through it). */
  get generation(): number {
    return this.syncs;
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => { this.timer = undefined; void this.sync(); }, 30);
  }

  sync(): Promise<void> {
    this.syncing = this.syncing.then(async () => {
      const text = proxyRuleset(this.opts.serviceCidr, proxyServicePorts(this.opts.services.list(), this.opts.endpoints.list()));
      if (text === this.applied) return;
      try {
        await run('nft', ['-f', '-'], text);
        this.applied = text;
        this.syncs++;
      } catch (err) {
        this.opts.log(`kube-proxy: applying the ruleset failed, retrying: ${(err as Error).message}`);
        setTimeout(() => this.schedule(), 1000);
      }
    });
    return this.syncing;
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    await this.syncing;
    await run('nft', ['delete', 'table', 'ip', PROXY_TABLE]).catch(() => undefined);
  }
}
