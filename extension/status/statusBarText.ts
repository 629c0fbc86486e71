// The status bar item's text and tooltip for each daemon/connection state. Pure.
import type { DaemonStatus } from '../../daemon/protocol/rpc';

export interface StatusBarView {
  text: string;
  tooltip: string;
  /** true when the item should use the warning/error background. */
  alert: boolean;
}

export function statusBarView(status: DaemonStatus | undefined): StatusBarView {
  if (!status) return { text: '$(debug-disconnect) Telepresence', tooltip: 'Telepresence: the daemon is not running. Click for actions.', alert: false };
  const c = status.connection;
  const target = c.context ? `${c.context}${c.namespace ? `/${c.namespace}` : ''}` : '';
  const vnat = status.vnatMappingCount;
  const vnatText = `${vnat} VNAT`;
  switch (c.state) {
    case 'connected': {
      // A leaving intercept no longer carries traffic: counted apart, with a spinner, until it is gone.
      const leaving = status.intercepts.filter((i) => i.state === 'leaving');
      const active = status.intercepts.length - leaving.length;
      const intercepts = active ? ` · ${active} intercept${active === 1 ? '' : 's'}` : '';
      const leavingText = leaving.length ? ` · $(sync~spin) ${leaving.length} leaving` : '';
      const leavingTip = leaving.length ? ` Leaving ${leaving.map((i) => `${i.namespace}/${i.workload}`).join(', ')}: being put back.` : '';
      return {
        text: `$(plug) ${target} · ${vnatText}${intercepts}${leavingText}`,
        tooltip: `Telepresence: connected to ${target}${c.server ? ` (${c.server})` : ''}; ${vnat} VNAT mapping${vnat === 1 ? '' : 's'}.${leavingTip} Click for actions.`,
        alert: false,
      };
    }
    case 'connecting':
      return { text: `$(sync~spin) Telepresence: connecting${target ? ` to ${target}` : ''}…`, tooltip: 'Telepresence: connecting. Click for actions.', alert: false };
    case 'reconnecting':
      return { text: `$(sync~spin) ${target} · reconnecting`, tooltip: `Telepresence: the tunnel to ${target} dropped and is being re-established${c.error ? `: ${c.error}` : ''}.`, alert: true };
    case 'disconnecting':
      return { text: '$(sync~spin) Telepresence: disconnecting…', tooltip: 'Telepresence: disconnecting.', alert: false };
    case 'disconnected':
      return c.error
        ? { text: '$(error) Telepresence: disconnected', tooltip: `Telepresence: the last connection failed: ${c.error}`, alert: true }
        : { text: '$(debug-disconnect) Telepresence: disconnected', tooltip: 'Telepresence: the daemon is running, not connected. Click for actions.', alert: false };
  }
}
