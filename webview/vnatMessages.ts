// Messages between the VNAT mappings webview and the extension. The webview
// gets data only through these; it never talks to the daemon.
import type { VnatMapping } from '../daemon/protocol/rpc';

/** What the sidebar shows besides rows: no daemon, not connected, connecting, connected. */
export type VnatViewConnection = 'no-daemon' | 'disconnected' | 'connecting' | 'connected';

/**
 * `state`: what the view shows besides rows. `mappings`: the rows, as the
 * daemon's deltas: after (re)loading, the view gets the whole table
 * (`full`), then only what changed.
 */
export type ToWebview =
  | {
    type: 'state';
    connection: VnatViewConnection;
    /** context/namespace, for the header. */
    target?: string;
  }
  | {
    type: 'mappings';
    /** `upserts` is the whole table: replace the rows. */
    full: boolean;
    upserts: VnatMapping[];
    /** Virtual IPs whose rows go. */
    removed: string[];
  };

export type FromWebview =
  | { type: 'ready' }
  | { type: 'copy'; text: string }
  | { type: 'reveal'; realIp: string; virtualIp: string }
  | { type: 'connect' };

export function isFromWebview(v: unknown): v is FromWebview {
  if (!v || typeof v !== 'object') return false;
  const m = v as Record<string, unknown>;
  switch (m.type) {
    case 'ready':
    case 'connect':
      return true;
    case 'copy':
      return typeof m.text === 'string' && m.text.length <= 4096;
    case 'reveal':
      return typeof m.realIp === 'string' && typeof m.virtualIp === 'string';
    default:
      return false;
  }
}
