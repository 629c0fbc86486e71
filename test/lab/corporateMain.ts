// Entry of `lab.js corporate <state dir>`: the corporate DNS and web server,
// run inside the VPN namespace until SIGTERM.
import { readFileSync } from 'node:fs';
import { runCorporateServices } from './dns/corporateDns';
import { labFiles } from './labFiles';
import type { LabPlan } from './labPlan';

export async function corporateMain(stateDir: string): Promise<void> {
  const { plan } = JSON.parse(readFileSync(labFiles(stateDir).manifest, 'utf8')) as { plan: LabPlan };
  const stop = await runCorporateServices(plan);
  console.log(`corporate services up: ${plan.vpnHostName} → ${plan.vpnHost}, DNS on ${plan.vpnDns}`);
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => void stop().finally(() => process.exit(0)));
}
