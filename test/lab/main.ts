// `npm run lab -- up|down|status [--name N] [--vpn CIDR]... [--service-cidr C] [--pod-cidr C] [--keep]`
// `npm run lab -- restart-apiserver [--name N] [--down-ms MS]` (a fault to reproduce by hand)
// The last line `up` and `status` print is one JSON object (progress goes to stderr).
// The same bundle also runs the lab's own processes: `control-plane <dir>`,
// `corporate <dir>` and the `lab/echo` image (`image echo`).
import { DEFAULT_LAB_NAME } from './labPlan';

const USAGE = `usage: npm run lab -- up [--name N] [--vpn CIDR|none]... [--service-cidr C] [--pod-cidr C] [--keep]
       npm run lab -- down [--name N]
       npm run lab -- status [--name N]
       npm run lab -- restart-apiserver [--name N] [--down-ms MS]`;

export interface CliArgs {
  command: string;
  name: string;
  vpn: string[];
  serviceCidr?: string;
  podCidr?: string;
  keep: boolean;
  /** restart-apiserver: how long connections are refused (default 3000). */
  downMs: number;
  rest: string[];
}

export function parseArgs(argv: string[]): CliArgs {
  const out: CliArgs = { command: argv[0] ?? '', name: DEFAULT_LAB_NAME, vpn: [], keep: false, downMs: 3000, rest: [] };
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    switch (flag) {
      case '--name': out.name = value(); break;
      case '--vpn': out.vpn.push(value()); break;
      case '--service-cidr': out.serviceCidr = value(); break;
      case '--pod-cidr': out.podCidr = value(); break;
      case '--keep': out.keep = true; break;
      case '--down-ms': out.downMs = Number(value()); break;
      default:
        if (a.startsWith('--')) throw new Error(`unknown option ${a}\n${USAGE}`);
        out.rest.push(a);
    }
  }
  return out;
}

async function main(argv: string[]): Promise<number> {
  const command = argv[0];
  if (command === 'image' && argv[1] === 'echo') {
    const { echoImageMain } = await import('./images/echo');
    await echoImageMain();
    return -1;
  }
  if (command === 'control-plane' || command === 'corporate') {
    const stateDir = argv[1];
    if (!stateDir) throw new Error(`${command} needs the lab's state directory`);
    if (command === 'control-plane') {
      const { controlPlaneMain } = await import('./controlPlane');
      await controlPlaneMain(stateDir, __filename);
    } else {
      const { corporateMain } = await import('./corporateMain');
      await corporateMain(stateDir);
    }
    return -1;
  }
  const args = parseArgs(argv);
  if (process.getuid?.() !== 0) throw new Error('the lab creates network namespaces: run it as root (e.g. `sudo npm run lab -- up`)');
  const { labDown, labStatus, labUp, restartApiServer } = await import('./labLifecycle');
  switch (args.command) {
    case 'up': {
      const info = await labUp({
        name: args.name, vpnCidrs: args.vpn, serviceCidr: args.serviceCidr, podCidr: args.podCidr,
        keepOnFailure: args.keep, progress: (l) => process.stderr.write(`lab: ${l}\n`),
      });
      process.stdout.write(`${JSON.stringify(info)}\n`);
      return 0;
    }
    case 'down': {
      const r = await labDown(args.name);
      process.stderr.write(`lab: "${args.name}" is down (${r.removedNetns.length} namespaces removed)\n`);
      return 0;
    }
    case 'status': {
      process.stdout.write(`${JSON.stringify(await labStatus(args.name))}\n`);
      return 0;
    }
    case 'restart-apiserver': {
      const r = await restartApiServer(args.name, args.downMs);
      process.stderr.write(`lab: the API server of "${args.name}" was down for ${r.upAt - r.downAt} ms (${r.connectionsCut} connections cut) and listens again\n`);
      process.stdout.write(`${JSON.stringify(r)}\n`);
      return 0;
    }
    default:
      process.stderr.write(`${USAGE}\n`);
      return 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => { if (code >= 0) process.exit(code); },
    (err: Error) => { process.stderr.write(`lab: ${err.message}\n`); process.exit(1); },
  );
}
