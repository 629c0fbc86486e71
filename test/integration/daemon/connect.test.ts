// Issue 4's acceptance, in the lab, from the workstation namespace with the
// VPN route 10.0.0.0/8 present: the real daemon, the real tpv, real TUN,
// routes, DNS and TCP/UDP through the relay to the lab's pods.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { labDown, labUp, type LabInfo } from '../../lab/labLifecycle';
import { diffSnapshots, snapshotNamespace } from '../../support/hostSnapshot';
import { uniquePrefix } from '../../support/netns';
import { missingNetworkPrivileges } from '../../support/privileges';
import type { DaemonStatus, VnatMapping } from '../../../daemon/protocol/rpc';
import { LabWorkstation as Workstation } from '../../support/labWorkstation';

const skip = missingNetworkPrivileges();


function inVirtualSubnet(ip: string): boolean {
  return /^246\.246\.\d+\.\d+$/.test(ip);
}

describe('tpv connect through the daemon, with a VPN routing 10.0.0.0/8', { skip }, () => {
  let lab: LabInfo;
  let ws: Workstation;
  let before0: ReturnType<typeof snapshotNamespace>;

  before(async () => {
    lab = await labUp({ name: uniquePrefix('cn') });
    ws = new Workstation(lab);
    before0 = snapshotNamespace(lab.workstationNetns);
  });

  after(async () => {
    if (ws) { await ws.quit().catch(() => undefined); ws.remove(); }
    if (lab) await labDown(lab.name);
  });

  test('connect with auto-resolve: both cluster subnets are VNATed', async () => {
    const status = await ws.tpvJson<DaemonStatus>('connect', '--namespace', 'default');
    assert.equal(status.connection.state, 'connected', JSON.stringify(status.connection));
    const plan = status.connection.plan!;
    assert.deepEqual(plan.subnets.map((s) => [s.subnet, s.resolution]).sort(), [[lab.serviceCidr, 'vnat'], [lab.podCidr, 'vnat']].sort());
    assert.equal(plan.virtualSubnet, '246.246.0.0/16');
  });

  test('getent hosts echo.default answers a virtual IP', async () => {
    const r = await ws.exec('getent', ['hosts', 'echo.default']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(inVirtualSubnet(r.stdout.split(/\s+/)[0]!), r.stdout);
  });

  test('50 HTTP requests to echo.default all succeed and reach both replicas', async () => {
    const pods = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const r = await ws.exec('curl', ['-sS', '--max-time', '5', 'http://echo.default/']);
      assert.equal(r.code, 0, `request ${i}: ${r.stderr}`);
      const m = /echo-[a-z0-9]+-[a-z0-9]+/.exec(r.stdout);
      assert.ok(m, `request ${i} body names no echo pod: ${r.stdout.slice(0, 200)}`);
      pods.add(m[0]);
    }
    assert.equal(pods.size, 2, `replicas reached: ${[...pods].join(', ')}`);
  });

  test('a pod is reachable on its virtual IP', async () => {
    const pod = lab.pods.find((p) => p.namespace === 'default' && p.name.startsWith('echo-') && p.ip)!;
    const name = `${pod.ip!.replace(/\./g, '-')}.default.pod.cluster.local`;
    const g = await ws.exec('getent', ['hosts', name]);
    const vip = g.stdout.split(/\s+/)[0]!;
    assert.ok(inVirtualSubnet(vip), `pod DNS name ${name} → ${g.stdout}`);
    const r = await ws.exec('curl', ['-sS', '--max-time', '5', `http://${vip}:8080/`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(pod.name));
  });

  test('a UDP echo round trip works', async () => {
    const g = await ws.exec('getent', ['hosts', 'echo.default']);
    const vip = g.stdout.split(/\s+/)[0]!;
    const script = `const s=require('dgram').createSocket('udp4');s.on('message',m=>{console.log(m.toString());process.exit(0)});s.send('ping-udp',9001,'${vip}');setTimeout(()=>{console.log('TIMEOUT');process.exit(1)},5000);`;
    const r = await ws.exec(process.execPath, ['-e', script]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /ping-udp|echo-/);
  });

  test('the VPN still owns the real cluster subnets', async () => {
    const svc = lab.services.find((s) => s.namespace === 'default' && s.name === 'echo')!;
    const r = await ws.exec('ip', ['route', 'get', svc.clusterIP]);
    assert.match(r.stdout, /dev vpn0/);
    const vpnHost = await ws.exec('curl', ['-sS', '--max-time', '5', `http://${lab.vpnHost}/`]);
    assert.equal(vpnHost.code, 0, `the corporate host behind the VPN must stay reachable: ${vpnHost.stderr}`);
  });

  test('tpv vnat --json lists every mapping used, with the DNS names', async () => {
    const list = await ws.tpvJson<VnatMapping[]>('vnat');
    const echo = list.find((m) => m.names.some((n) => n.startsWith('echo.default')));
    assert.ok(echo, JSON.stringify(list));
    assert.ok(inVirtualSubnet(echo.virtualIp));
    assert.ok(echo.flows >= 50, `flows counted: ${echo.flows}`);
    assert.ok(echo.bytesIn > 0 && echo.bytesOut > 0);
  });

  test('a closed port in the cluster is refused locally in under 100 ms', async () => {
    const g = await ws.exec('getent', ['hosts', 'echo.default']);
    const vip = g.stdout.split(/\s+/)[0]!;
    const script = `const t=process.hrtime.bigint();const s=require('net').connect(81,'${vip}');s.on('connect',()=>{console.log('CONNECTED');process.exit(1)});s.on('error',e=>{console.log(e.code, Number(process.hrtime.bigint()-t)/1e6);process.exit(0)});`;
    const r = await ws.exec(process.execPath, ['-e', script]);
    const [code, ms] = r.stdout.trim().split(' ');
    assert.equal(code, 'ECONNREFUSED', r.stdout + r.stderr);
    console.log(`refused in ${Number(ms).toFixed(1)} ms`);
    assert.ok(Number(ms) < 100, `refusal took ${ms} ms`);
  });

  test('200 concurrent HTTP connections all succeed', async () => {
    const script = `
      const http=require('http');let ok=0,bad=0,n=200;const agent=new http.Agent({maxSockets:200});
      for(let i=0;i<n;i++){http.get({host:'echo.default',port:80,path:'/',agent},r=>{r.resume();r.on('end',()=>{r.statusCode===200?ok++:bad++;if(ok+bad===n){console.log(ok,bad);process.exit(bad?1:0)}})}).on('error',e=>{bad++;console.error(e.code);if(ok+bad===n){console.log(ok,bad);process.exit(1)}})}
      setTimeout(()=>{console.log(ok,bad,'TIMEOUT');process.exit(1)},30000);`;
    const r = await ws.exec(process.execPath, ['-e', script], 60_000);
    assert.equal(r.stdout.trim(), '200 0', r.stdout + r.stderr);
  });

  test('a client that stops reading stalls its sender instead of growing the daemon', async () => {
    // Writes to the TCP echo and never reads: the echoed bytes have nowhere to go but back
    // through the daemon. If the daemon buffered them, every write would be accepted and its
    // RSS would grow by the amount written; with flow control the writes stall after a
    // bounded amount (socket buffers + one tunnel window per hop).
    const status = await ws.tpvJson<DaemonStatus>('status');
    const rssKiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${status.pid}/status`, 'utf8'))?.[1]);
    const before = rssKiB();
    const script = `
      const s=require('net').connect(9000,'echo.default');const chunk=Buffer.alloc(1<<20,1);let written=0;s.pause();
      s.on('connect',()=>{const pump=()=>{while(written<(512<<20)){written+=chunk.length;if(!s.write(chunk)){s.once('drain',pump);return;}}};pump();});
      setTimeout(()=>{console.log(written);process.exit(0)},8000);`;
    const r = await ws.exec(process.execPath, ['-e', script], 30_000);
    assert.equal(r.code, 0, r.stderr);
    const writtenMiB = Number(r.stdout.trim()) / (1 << 20);
    const grownMiB = (rssKiB() - before) / 1024;
    console.log(`# slow reader: ${writtenMiB.toFixed(0)} MiB accepted before the sender stalled; daemon RSS grew ${grownMiB.toFixed(1)} MiB`);
    assert.ok(writtenMiB < 256, `the sender was never stalled: ${writtenMiB} MiB accepted in 8 s`);
    assert.ok(grownMiB < 64, `the daemon grew by ${grownMiB.toFixed(1)} MiB for a reader that reads nothing`);
  });

  test('tpv ingest echo --env-json: cluster IPs become virtual IPs, everything else is the container\'s env, and the virtual IPs answer', async () => {
    const file = join(ws.dir, 'echo-env.json');
    const r = await ws.tpv('ingest', 'echo', '--env-json', file);
    assert.equal(r.code, 0, r.stderr);
    const mangled = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    const pod = lab.pods.find((p) => p.namespace === 'default' && p.name.startsWith('echo-') && p.ready)!;
    const k = await ws.exec('kubectl', ['exec', '-n', 'default', pod.name, '--', 'env']);
    assert.equal(k.code, 0, k.stderr);
    const reference = Object.fromEntries(k.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    assert.ok(inVirtualSubnet(mangled.ECHO_SERVICE_HOST ?? ''), `ECHO_SERVICE_HOST=${mangled.ECHO_SERVICE_HOST}`);
    const clusterIp = /\b10\.13[02]\.\d+\.\d+\b/;
    let translated = 0;
    for (const [key, value] of Object.entries(reference)) {
      if (key === 'HOSTNAME') continue;
      if (clusterIp.test(value)) {
        assert.ok(!clusterIp.test(mangled[key] ?? ''), `${key} still holds a cluster IP: ${mangled[key]}`);
        translated++;
      } else {
        assert.equal(mangled[key], value, `${key} must be unchanged`);
      }
    }
    assert.ok(translated >= 3, `only ${translated} variables held cluster IPs`);
    // Every service the environment names is reachable on its virtual IP and port.
    const services = Object.keys(mangled).filter((k) => k.endsWith('_SERVICE_HOST') && inVirtualSubnet(mangled[k]!));
    assert.ok(services.length >= 2, services.join(', '));
    for (const host of services) {
      const port = mangled[host.replace(/_HOST$/, '_PORT')]!;
      const script = `const s=require('net').connect(${port},'${mangled[host]}');s.on('connect',()=>{console.log('OK');process.exit(0)});s.on('error',e=>{console.log(e.code);process.exit(1)});setTimeout(()=>{console.log('TIMEOUT');process.exit(1)},5000)`;
      const c = await ws.exec(process.execPath, ['-e', script]);
      assert.equal(c.stdout.trim(), 'OK', `${host}=${mangled[host]}:${port}`);
    }
    const list = await ws.tpvJson<VnatMapping[]>('vnat');
    assert.ok(list.some((m) => m.virtualIp === mangled.ECHO_SERVICE_HOST && m.envVars.includes('ECHO_SERVICE_HOST')), 'the VNAT list names the variable');
    assert.equal((await ws.tpv('leave', 'echo')).code, 0);
  });

  test('disconnect puts routes, rules, nftables, resolv.conf and devices back byte for byte', async () => {
    const r = await ws.tpv('disconnect');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(diffSnapshots(before0, snapshotNamespace(lab.workstationNetns)), '');
  });
});

describe('tpv connect variants and failures', { skip }, () => {
  let lab: LabInfo;
  let ws: Workstation;
  let clean: ReturnType<typeof snapshotNamespace>;

  before(async () => {
    lab = await labUp({ name: uniquePrefix('cv') });
    ws = new Workstation(lab);
    clean = snapshotNamespace(lab.workstationNetns);
  });

  after(async () => {
    if (ws) { await ws.quit().catch(() => undefined); ws.remove(); }
    if (lab) await labDown(lab.name);
  });

  test('autoResolveConflicts: false fails with the exact error and changes nothing', async () => {
    const r = await ws.tpv('connect', '--no-auto-resolve-conflicts');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`tpv connect: error: subnet ${lab.serviceCidr.replace(/\./g, '\\.')} overlaps with existing route "10\\.0\\.0\\.0/8 via [0-9.]+ dev vpn0(, gw [0-9.]+)?"$`, 'm'));
    assert.equal(diffSnapshots(clean, snapshotNamespace(lab.workstationNetns)), '');
  });

  test('--vnat all gives virtual IPs too', async () => {
    const s = await ws.tpvJson<DaemonStatus>('connect', '--vnat', 'all');
    assert.ok(s.connection.plan!.subnets.every((e) => e.resolution === 'vnat'));
    const g = await ws.exec('getent', ['hosts', 'echo.default']);
    assert.ok(inVirtualSubnet(g.stdout.split(/\s+/)[0]!), g.stdout);
    const r = await ws.exec('curl', ['-sS', '--max-time', '5', 'http://echo.default/']);
    assert.equal(r.code, 0, r.stderr);
    await ws.tpv('disconnect');
    assert.equal(diffSnapshots(clean, snapshotNamespace(lab.workstationNetns)), '');
  });

  test('a virtual range too small for the lookups: the rest fail, and the log says which range is full and what to change', async () => {
    const config = join(ws.dir, 'config.yml');
    writeFileSync(config, 'routing:\n  virtualSubnet: 246.9.0.0/28\n');
    const s = await ws.tpvJson<DaemonStatus>('connect', '--config', config);
    const podEntry = s.connection.plan!.subnets.find((e) => e.resolution === 'vnat' && e.subnet === lab.podCidr);
    assert.ok(podEntry?.virtualRange, JSON.stringify(s.connection.plan));
    const podBase = podEntry.subnet.split('/')[0]!.split('.').slice(0, 2).join('-');
    const answers: string[] = [];
    for (let i = 1; i <= 24; i++) {
      const g = await ws.exec('getent', ['hosts', `${podBase}-7-${i}.default.pod.${lab.clusterDomain}`]);
      if (g.code === 0) answers.push(g.stdout.split(/\s+/)[0]!);
    }
    assert.ok(answers.length > 0 && answers.length < 24, `a /28 split between two subnets answers a few of 24 pod names, not ${answers.length}`);
    assert.equal(new Set(answers).size, answers.length, 'every answer a distinct virtual IP');
    const warnings = ws.log().split('\n').filter((l) => /no virtual IP left for cluster subnet/.test(l));
    assert.equal(warnings.length, 1, `one warning for all the refused lookups, not one each:\n${warnings.join('\n')}`);
    assert.match(warnings[0]!, new RegExp(`cluster subnet ${podEntry.subnet.replace(/\./g, '\\.')}: all \\d+ addresses of its virtual range ${podEntry.virtualRange!.replace(/\./g, '\\.')} are in use; set routing\\.virtualSubnet to a larger subnet`));
    await ws.tpv('disconnect');
    assert.equal(diffSnapshots(clean, snapshotNamespace(lab.workstationNetns)), '');
  });

  test('allowConflictingSubnets 10.128.0.0/9 routes the real IPs through our device; the rest of 10/8 stays on the VPN', async () => {
    const config = join(ws.dir, 'config.yml');
    writeFileSync(config, 'routing:\n  allowConflictingSubnets:\n    - 10.128.0.0/9\n');
    const s = await ws.tpvJson<DaemonStatus>('connect', '--config', config);
    assert.ok(s.connection.plan!.subnets.every((e) => e.resolution === 'allowed'), JSON.stringify(s.connection.plan));
    const svc = lab.services.find((x) => x.namespace === 'default' && x.name === 'echo')!;
    const dev = s.connection.device!;
    assert.match((await ws.exec('ip', ['route', 'get', svc.clusterIP])).stdout, new RegExp(`dev ${dev}`));
    assert.match((await ws.exec('ip', ['route', 'get', '10.1.2.3'])).stdout, /dev vpn0/);
    const g = await ws.exec('getent', ['hosts', 'echo.default']);
    assert.equal(g.stdout.split(/\s+/)[0], svc.clusterIP, 'no virtual IPs for allowed subnets');
    const r = await ws.exec('curl', ['-sS', '--max-time', '5', `http://${svc.clusterIP}/`]);
    assert.equal(r.code, 0, r.stderr);
    await ws.tpv('disconnect');
    assert.equal(diffSnapshots(clean, snapshotNamespace(lab.workstationNetns)), '');
  });

  test('SIGTERM to the connected daemon restores everything', async () => {
    const s = await ws.tpvJson<DaemonStatus>('connect');
    assert.equal(s.connection.state, 'connected');
    process.kill(s.pid, 'SIGTERM');
    await waitForExit(s.pid, 15_000);
    assert.equal(diffSnapshots(clean, snapshotNamespace(lab.workstationNetns)), '');
  });

  test('kill -9 of the connected daemon, then the next start repairs everything', async () => {
    const s = await ws.tpvJson<DaemonStatus>('connect');
    assert.equal(s.connection.state, 'connected');
    process.kill(s.pid, 'SIGKILL');
    await waitForExit(s.pid, 5_000);
    const r = await ws.tpv('quit', '--cleanup');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(diffSnapshots(clean, snapshotNamespace(lab.workstationNetns)), '');
  });
});

async function waitForExit(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try { process.kill(pid, 0); } catch { return; }
    if (Date.now() > deadline) throw new Error(`process ${pid} still runs after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}


