// Rebuilds a revertible operation from its journal record (after a crash, the
// live objects are gone; the record is all that is left).
import type { CommandRunner } from './commandRunner';
import type { HostChangeRecord, HostOperation } from './hostOperation';
import { NftDnsRedirectOperation } from './nftDnsRedirect';
import { ResolvedLinkOperation } from './resolvedLinkDns';
import { RouteOperation } from './routeOperation';

export function operationFromRecord(record: HostChangeRecord, run: CommandRunner): HostOperation {
  switch (record.kind) {
    case 'route': return RouteOperation.fromRecord(record, run);
    case 'nftTable': return NftDnsRedirectOperation.fromRecord(record, run);
    case 'resolvedLink': return ResolvedLinkOperation.fromRecord(record, run);
  }
}
