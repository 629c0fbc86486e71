// The lab's address and naming plan, computed from the user's options before
// anything is created. Pure: `up`, `down`, `status` and the tests all derive
// names from it, so a half-made lab can be found and removed by name alone.
import { cidrContains, cidrSize, cidrsOverlap, formatCidr, nthAddress, parseCidr, parseIpv4, type Cidr } from './network/ipv4';

export interface LabOptions {
  /** Lab name: lowercase letters and digits, starts with a letter, at most 16 characters. */
  name?: string;
  /** CIDRs the workstation's VPN routes; `['none']` or `[]` for no VPN routes. Default 10.0.0.0/8. */
  vpnCidrs?: string[];
  serviceCidr?: string;
  podCidr?: string;
}

export interface LabPlan {
  name: string;
  stateDir: string;
  netns: { workstation: string; node: string; vpn: string; podPrefix: string };
  nodeName: string;
  serviceCidr: string;
  podCidr: string;
  vpnCidrs: string[];
  clusterDomain: string;
  /** The node's bridge: pods' default gateway and the node's cluster-facing address. */
  bridge: { device: string; address: string; prefix: number };
  /** Workstation ⇄ node link carrying only API server traffic (/32 peer addresses: one host route each way). */
  apiLink: { workstationDevice: string; workstationAddress: string; nodeDevice: string; nodeAddress: string };
  apiServer: { host: string; port: number; url: string };
  /** Workstation ⇄ VPN far side. */
  vpnLink: { workstationDevice: string; workstationAddress: string; vpnDevice: string; gateway: string };
  /** A "corporate" web server (HTTP :80) behind the VPN, and the workstation's nameserver. */
  vpnHost: string;
  vpnDns: string;
  /** The name the corporate DNS server answers with vpnHost. */
  vpnHostName: string;
  kubernetesServiceIp: string;
  kubeDnsIp: string;
}

export const DEFAULT_LAB_NAME = 'tpvlab';
export const DEFAULT_VPN_CIDRS = ['10.0.0.0/8'];
export const DEFAULT_SERVICE_CIDR = '10.130.0.0/16';
export const DEFAULT_POD_CIDR = '10.132.0.0/16';
export const LAB_STATE_ROOT = '/run/tpv-lab';
export const API_SERVER_PORT = 6443;

// Link addresses outside the default cluster and VPN ranges; /32 peers so that
// they add exactly one host route and never a subnet route.
const API_LINK = { workstation: '192.168.230.2', node: '192.168.230.1' };
const VPN_LINK = { workstation: '192.168.231.2', gateway: '192.168.231.1' };

export function validateLabName(name: string): string {
  // No dashes: `<name>-` is then an unambiguous prefix for the name sweep of `down`.
  if (!/^[a-z][a-z0-9]{0,15}$/.test(name)) {
    throw new Error(`lab name "${name}" is invalid: use 1-16 lowercase letters and digits, starting with a letter (e.g. tpvlab)`);
  }
  return name;
}

export function labNetnsNames(name: string): LabPlan['netns'] {
  return { workstation: `${name}-ws`, node: `${name}-node`, vpn: `${name}-vpn`, podPrefix: `${name}-p-` };
}

/** Every namespace name that belongs to lab `name`, given a list of existing ones. */
export function belongsToLab(name: string, netns: string): boolean {
  return netns.startsWith(`${name}-`) && !netns.slice(name.length + 1).includes('/');
}

export function planLab(opts: LabOptions = {}): LabPlan {
  const name = validateLabName(opts.name ?? DEFAULT_LAB_NAME);
  const vpnInput = opts.vpnCidrs && opts.vpnCidrs.length > 0 ? opts.vpnCidrs : DEFAULT_VPN_CIDRS;
  const vpnCidrs: Cidr[] = vpnInput.length === 1 && vpnInput[0] === 'none' ? [] : vpnInput.map((c) => {
    if (c === 'none') throw new Error('--vpn none cannot be combined with VPN CIDRs');
    return parseCidr(c);
  });
  const service = parseCidr(opts.serviceCidr ?? DEFAULT_SERVICE_CIDR);
  const pod = parseCidr(opts.podCidr ?? DEFAULT_POD_CIDR);
  if (service.prefix > 28) throw new Error(`service CIDR ${formatCidr(service)} is too small: use /28 or larger`);
  if (pod.prefix > 28) throw new Error(`pod CIDR ${formatCidr(pod)} is too small: use /28 or larger`);
  if (cidrsOverlap(service, pod)) throw new Error(`service CIDR ${formatCidr(service)} and pod CIDR ${formatCidr(pod)} overlap: choose disjoint ranges`);
  for (const addr of [...Object.values(API_LINK), ...Object.values(VPN_LINK)]) {
    for (const [what, c] of [['service', service], ['pod', pod]] as const) {
      if (cidrContains(c, parseIpv4(addr))) throw new Error(`${what} CIDR ${formatCidr(c)} contains the lab's link address ${addr}: choose another range`);
    }
  }
  for (let i = 0; i < vpnCidrs.length; i++) {
    for (let j = i + 1; j < vpnCidrs.length; j++) {
      if (cidrsOverlap(vpnCidrs[i]!, vpnCidrs[j]!)) throw new Error(`VPN CIDRs ${formatCidr(vpnCidrs[i]!)} and ${formatCidr(vpnCidrs[j]!)} overlap: give each range once`);
    }
  }

  const [vpnHost, vpnDns] = vpnCidrs.length > 0 ? corporateAddresses(vpnCidrs[0]!) : [VPN_LINK.gateway, VPN_LINK.gateway];
  for (const addr of [vpnHost, vpnDns]) {
    for (const c of [service, pod]) {
      if (cidrContains(c, parseIpv4(addr))) throw new Error(`the VPN's corporate address ${addr} falls inside ${formatCidr(c)}: choose VPN or cluster ranges that leave it free`);
    }
  }
  const apiHost = API_LINK.node;
  return {
    name,
    stateDir: `${LAB_STATE_ROOT}/${name}`,
    netns: labNetnsNames(name),
    nodeName: `${name}-node`,
    serviceCidr: formatCidr(service),
    podCidr: formatCidr(pod),
    vpnCidrs: vpnCidrs.map(formatCidr),
    clusterDomain: 'cluster.local',
    bridge: { device: 'cbr0', address: nthAddress(pod, 1), prefix: pod.prefix },
    apiLink: { workstationDevice: 'api0', workstationAddress: API_LINK.workstation, nodeDevice: 'ws0', nodeAddress: apiHost },
    apiServer: { host: apiHost, port: API_SERVER_PORT, url: `https://${apiHost}:${API_SERVER_PORT}` },
    vpnLink: { workstationDevice: 'vpn0', workstationAddress: VPN_LINK.workstation, vpnDevice: 'ws0', gateway: VPN_LINK.gateway },
    vpnHost,
    vpnDns,
    vpnHostName: 'intranet.corp',
    kubernetesServiceIp: nthAddress(service, 1),
    kubeDnsIp: nthAddress(service, 10),
  };
}

/** 10.1.2.3 and 10.1.2.53 inside 10.0.0.0/8; the same offsets scaled down for smaller VPN ranges. */
function corporateAddresses(c: Cidr): [string, string] {
  for (const [host, dns] of [[0x010203, 0x010235], [0x0203, 0x0235], [3, 53], [2, 3]] as const) {
    if (dns < cidrSize(c) - 1) return [nthAddress(c, host), nthAddress(c, dns)];
  }
  throw new Error(`VPN CIDR ${formatCidr(c)} is too small to hold the corporate test hosts: use /29 or larger`);
}
