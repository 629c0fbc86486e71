// Routes through our device: `ip route add` only (never `replace`), tagged
// with our own protocol number, and removed by a delete that names our device
// and protocol, so the kernel itself refuses to remove anyone else's route.
import type { RoutingPlan } from '../protocol/rpc';
import { CommandFailedError, type CommandRunner } from './commandRunner';
import type { HostOperation, RouteRecord } from './hostOperation';

/** rtnetlink protocol number on every route we add (`proto 116` in `ip route`); unused by known routing daemons. */
export const ROUTE_PROTOCOL = 116;

export class RouteExistsError extends Error {
  constructor(readonly cidr: string, readonly device: string, readonly existing: string) {
    super(
      `cannot route ${cidr} through ${device}: the routing table already has a route for exactly ${cidr}` +
      `${existing ? ` ("${existing}")` : ''}. It was left untouched; hide the subnet behind virtual IPs with ` +
      `--vnat ${cidr} (or routing.autoResolveConflicts), or remove it from allowConflictingSubnets`,
    );
    this.name = 'RouteExistsError';
  }
}

const GONE = /No such process|Cannot find device|No such device|does not exist/i;

function familyArgs(cidr: string): string[] {
  return cidr.includes(':') ? ['-6'] : [];
}

export class RouteOperation implements HostOperation {
  readonly record: RouteRecord;

  constructor(cidr: string, device: string, private readonly run: CommandRunner, protocol = ROUTE_PROTOCOL) {
    this.record = { kind: 'route', cidr, device, protocol };
  }

  static fromRecord(record: RouteRecord, run: CommandRunner): RouteOperation {
    return new RouteOperation(record.cidr, record.device, run, record.protocol);
  }

  describe(): string {
    return `route ${this.record.cidr} dev ${this.record.device}`;
  }

  /** The exact command lines, for tests and the consent dialog. */
  applyArgs(): string[] {
    const { cidr, device, protocol } = this.record;
    return [...familyArgs(cidr), 'route', 'add', cidr, 'dev', device, 'proto', String(protocol)];
  }

  revertArgs(): string[] {
    const { cidr, device, protocol } = this.record;
    return [...familyArgs(cidr), 'route', 'del', cidr, 'dev', device, 'proto', String(protocol)];
  }

  async apply(): Promise<void> {
    const result = await this.run('ip', this.applyArgs());
    if (result.code === 0) return;
    if (/File exists/i.test(result.stderr)) {
      const shown = await this.run('ip', [...familyArgs(this.record.cidr), 'route', 'show', 'exact', this.record.cidr]);
      throw new RouteExistsError(this.record.cidr, this.record.device, shown.code === 0 ? shown.stdout.trim().split('\n')[0] ?? '' : '');
    }
    throw new CommandFailedError('ip', this.applyArgs(), result);
  }

  async revert(): Promise<void> {
    const result = await this.run('ip', this.revertArgs());
    if (result.code === 0 || GONE.test(result.stderr)) return;
    throw new CommandFailedError('ip', this.revertArgs(), result);
  }
}

/**
 * Which subnets go through our device for a plan: `route` and `allowed`
 * subnets as they are, and for `vnat`/`proxy-via` the virtual subnet (once).
 * `never-proxy` subnets get no route. A plan with an error is refused.
 */
export function routedSubnets(plan: RoutingPlan): string[] {
  if (plan.error) throw new Error(`refusing to install routes for a plan with an error: ${plan.error}`);
  const out: string[] = [];
  const add = (cidr: string) => { if (!out.includes(cidr)) out.push(cidr); };
  for (const entry of plan.subnets) {
    switch (entry.resolution) {
      case 'route':
      case 'allowed':
        add(entry.subnet);
        break;
      case 'vnat':
      case 'proxy-via':
        add(plan.virtualSubnet);
        break;
      case 'never-proxy':
        break;
      case 'error':
        throw new Error(`refusing to install routes for a plan with an error: ${entry.error ?? entry.subnet}`);
    }
  }
  return out;
}

/** The route operations that realize a plan on `device`, in apply order. */
export function routeOperationsForPlan(plan: RoutingPlan, device: string, run: CommandRunner): RouteOperation[] {
  return routedSubnets(plan).map((cidr) => new RouteOperation(cidr, device, run));
}
