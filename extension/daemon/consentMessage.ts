// The modal consent dialog shown before the daemon starts as root: it lists
// exactly what will change on this machine. Pure.
import type { LauncherKind } from '../../client/daemon/launchCommands';

export interface ConsentFacts {
  launcher: LauncherKind;
  device: string;
  /** Subnets known before connecting (pod CIDRs read from nodes, also-proxy entries). */
  subnets: readonly string[];
  /** true when the service subnet is learnt only at connect time. */
  serviceSubnetDiscovered: boolean;
  context: string;
  namespaces: readonly string[];
  clusterDomain: string;
  reason: 'start' | 'replace';
  replaceDetail?: string;
}

export interface ConsentText {
  message: string;
  detail: string;
}

const PROMPT: Record<LauncherKind, string> = {
  direct: 'It runs as root (VS Code already does).',
  pkexec: 'Your system will ask for your password (polkit).',
  sudo: 'A terminal opens where sudo asks for your password.',
  osascript: 'macOS will ask for an administrator password.',
  runas: 'Windows will ask for administrator approval.',
};

export function consentText(f: ConsentFacts): ConsentText {
  const routes = [...f.subnets];
  if (f.serviceSubnetDiscovered) routes.push(`the service subnet of "${f.context}" (learnt from the cluster when connecting)`);
  const lines = [
    `• creates the network device ${f.device} (TUN)`,
    `• adds routes through ${f.device} for: ${routes.length ? routes.join(', ') : 'the cluster subnets learnt when connecting'} — subnets your VPN already routes are moved to virtual IPs instead of overriding its routes`,
    `• answers DNS for ${f.clusterDomain}${f.namespaces.length ? ` and the namespaces ${f.namespaces.slice(0, 6).join(', ')}${f.namespaces.length > 6 ? ', …' : ''}` : ''}; all other names keep using your resolver`,
    '• keeps everything until you disconnect or quit the daemon; the routes, DNS settings and device are then removed, also after a crash (on the next start)',
  ];
  return {
    message: f.reason === 'replace' ? 'Restart the Telepresence daemon with this version?' : 'Start the Telepresence daemon as root?',
    detail: [
      f.reason === 'replace' ? `${f.replaceDetail ?? 'The running daemon is older than this extension'}.` : `Connecting to "${f.context}" needs the Telepresence daemon, which runs as root and:`,
      ...(f.reason === 'replace' ? ['The new daemon runs as root and:'] : []),
      ...lines,
      '',
      PROMPT[f.launcher],
    ].join('\n'),
  };
}
