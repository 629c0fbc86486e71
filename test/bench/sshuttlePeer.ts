// The peer tunnel of the lab benchmark: sshuttle (Debian's package) over SSH
// to an sshd the benchmark starts in a jump pod, routing the target pod's IP.
// Everything lives in temporary files and the lab's namespaces; sshuttle's
// NAT rules are in the workstation namespace and go when it stops.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const SSHD_PORT = 2222;

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => execFile(cmd, args, { encoding: 'utf8' }, (err, stdout, stderr) =>
    (err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout))));
}

/** Installs sshuttle and openssh-server from Debian when absent (the benchmark runs as root). */
export async function ensureSshuttle(log: (l: string) => void): Promise<void> {
  const missing = [['/usr/bin/sshuttle', 'sshuttle'], ['/usr/sbin/sshd', 'openssh-server'], ['/usr/bin/ssh', 'openssh-client']]
    .filter(([path]) => !existsSync(path!)).map(([, pkg]) => pkg!);
  if (missing.length === 0) return;
  log(`installing ${missing.join(', ')} from Debian for the sshuttle comparison`);
  await run('apt-get', ['install', '-y', '--no-install-recommends', ...missing]);
}

export interface SshuttlePeer {
  /** Starts sshuttle routing `target` (an IP) through the jump pod; resolves once it is connected. */
  start(): Promise<void>;
  stop(): Promise<void>;
  close(): Promise<void>;
}

export async function sshuttlePeer(opts: {
  dir: string; workstationNetns: string; jumpNetns: string; jumpIp: string; target: string; log: (l: string) => void;
}): Promise<SshuttlePeer> {
  const dir = join(opts.dir, 'sshuttle');
  mkdirSync(dir, { recursive: true });
  mkdirSync('/run/sshd', { recursive: true }); // sshd's privilege-separation directory
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'client_key')]);
  writeFileSync(join(dir, 'sshd_config'), [
    `Port ${SSHD_PORT}`, `ListenAddress ${opts.jumpIp}`, `HostKey ${join(dir, 'host_key')}`,
    `AuthorizedKeysFile ${join(dir, 'client_key.pub')}`, `PidFile ${join(dir, 'sshd.pid')}`,
    'PermitRootLogin prohibit-password', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no',
    'UsePAM no', 'StrictModes no', 'AllowTcpForwarding yes', 'LogLevel ERROR', '',
  ].join('\n'));
  const sshd = spawn('ip', ['netns', 'exec', opts.jumpNetns, '/usr/sbin/sshd', '-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise((r) => setTimeout(r, 500));
  if (sshd.exitCode !== null) throw new Error(`sshd in the jump pod exited with ${sshd.exitCode}`);
  // The workstation reaches the jump pod's sshd over a direct route (the VPN owns 10/8).
  await run('ip', ['netns', 'exec', opts.workstationNetns, 'ip', 'route', 'add', `${opts.jumpIp}/32`, 'via', '192.168.230.1', 'dev', 'api0', 'onlink']);
  const sshCmd = `ssh -i ${join(dir, 'client_key')} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR`;
  let child: ChildProcess | undefined;

  const peer: SshuttlePeer = {
    async start() {
      const c = spawn('ip', ['netns', 'exec', opts.workstationNetns, '/usr/bin/sshuttle', '--method', 'nat', '--python', '/usr/bin/python3',
        '--ssh-cmd', sshCmd, '-r', `root@${opts.jumpIp}:${SSHD_PORT}`, `${opts.target}/32`], { stdio: ['ignore', 'pipe', 'pipe'] });
      child = c;
      await new Promise<void>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`sshuttle did not connect within 30 s: ${out}`)), 30_000);
        const onData = (d: Buffer) => { out += d; if (/Connected to server/.test(out)) { clearTimeout(timer); resolve(); } };
        c.stdout?.on('data', onData);
        c.stderr?.on('data', onData);
        c.once('exit', (code) => { clearTimeout(timer); reject(new Error(`sshuttle exited with ${code}: ${out}`)); });
      });
    },
    async stop() {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM'); // sshuttle removes its NAT rules on SIGTERM
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    },
    async close() {
      await peer.stop();
      sshd.kill('SIGTERM');
    },
  };
  return peer;
}
