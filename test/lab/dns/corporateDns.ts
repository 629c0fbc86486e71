// The corporate network behind the VPN: a DNS server (the workstation's
// nameserver) that knows one intranet name, and a web server on the intranet
// host. Tests use them to prove the VPN keeps working while the daemon is connected.
import * as http from 'node:http';
import type { LabPlan } from '../labPlan';
import { startLabDnsServer, type LabDnsAnswer } from './labDnsServer';

export function corporateAnswer(plan: Pick<LabPlan, 'vpnHost' | 'vpnHostName'>, name: string, type: string): LabDnsAnswer {
  const n = name.toLowerCase().replace(/\.$/, '');
  if (n === plan.vpnHostName) {
    return type === 'A'
      ? { rcode: 'NOERROR', answers: [{ type: 'A', name, ttl: 30, class: 'IN', data: plan.vpnHost }], authority: [] }
      : { rcode: 'NOERROR', answers: [], authority: [] };
  }
  return { rcode: 'NXDOMAIN', answers: [], authority: [] };
}

export async function runCorporateServices(plan: LabPlan): Promise<() => Promise<void>> {
  const dns = await startLabDnsServer(plan.vpnDns, 53, (name, type) => corporateAnswer(plan, name, type));
  const web = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' }).end(`corporate intranet ${plan.vpnHostName} (${plan.vpnHost}) via the VPN; caller ${(req.socket.remoteAddress ?? '').replace(/^::ffff:/, '')}\n`);
  });
  await new Promise<void>((r) => web.listen(80, plan.vpnHost, r));
  return async () => {
    web.closeAllConnections();
    await Promise.all([dns.close(), new Promise((r) => web.close(r))]);
  };
}
