// The reliability suites' view of a lab workstation: the shared one
// (test/support/labWorkstation.ts) plus probes these suites use after each
// fault: a short HTTP request, a UDP echo, an integrity transfer, and helper
// scripts of this folder run in the namespace through tsx.
import { join } from 'node:path';
import { LabWorkstation } from '../../support/labWorkstation';

export { alive, repoRoot, run, timeUntil, type Run } from '../../support/labWorkstation';
/** Label selector of the relay pods (daemon/cluster/relayManifests.ts). */
export { RELAY_SELECTOR } from '../../../daemon/cluster/relayManifests';

export class Workstation extends LabWorkstation {
  constructor(lab: ConstructorParameters<typeof LabWorkstation>[0]) {
    super(lab, 'rel');
  }

  /** A TypeScript helper of this folder, run in the workstation namespace; its last stdout line is JSON. */
  async helper<T>(script: string, input: unknown, timeoutMs = 120_000): Promise<T> {
    const r = await this.exec(process.execPath, ['--import', 'tsx', join(__dirname, script), JSON.stringify(input)], timeoutMs);
    const last = r.stdout.trim().split('\n').pop() ?? '';
    try {
      return JSON.parse(last) as T;
    } catch {
      throw new Error(`${script} exited ${r.code} without a JSON answer; stdout: ${r.stdout.slice(-2000)}\nstderr: ${r.stderr.slice(-2000)}`);
    }
  }

  /** One short HTTP request to echo.default through the system resolver and the daemon. */
  async httpOk(target = 'http://echo.default/', timeoutSeconds = 2): Promise<boolean> {
    const r = await this.exec('curl', ['-sS', '--max-time', String(timeoutSeconds), target], (timeoutSeconds + 3) * 1000);
    return r.code === 0 && /pod=echo-/.test(r.stdout);
  }

  /** One datagram to the UDP echo port of `vip` and its answer. */
  async udpEcho(vip: string, message = 'ping-after'): Promise<boolean> {
    const script = `const s=require('dgram').createSocket('udp4');s.on('message',m=>{console.log(m.toString());process.exit(0)});s.send(${JSON.stringify(message)},9001,'${vip}');setTimeout(()=>{console.log('TIMEOUT');process.exit(1)},5000);`;
    const r = await this.exec(process.execPath, ['-e', script]);
    return r.code === 0 && r.stdout.includes(message);
  }

  /**
   * POSTs `bytes` random bytes to echo.default, which sends them back: the
   * number of bytes that came back wrong or not at all (0 when intact).
   */
  async integrityLoss(bytes: number): Promise<number> {
    const script = `
      const http=require('http'),crypto=require('crypto');const body=crypto.randomBytes(${bytes});
      const req=http.request({host:'echo.default',port:80,method:'POST',path:'/',headers:{'content-length':body.length}},res=>{
        const parts=[];res.on('data',d=>parts.push(d));res.on('end',()=>{const got=Buffer.concat(parts);let same=0;
          while(same<Math.min(got.length,body.length)&&got[same]===body[same])same++;
          console.log(JSON.stringify({sent:body.length,got:got.length,intact:got.equals(body),firstDiff:same}));});});
      req.on('error',e=>{console.log(JSON.stringify({error:e.code||e.message}));});req.end(body);`;
    const r = await this.exec(process.execPath, ['-e', script], 60_000);
    const res = JSON.parse(r.stdout.trim().split('\n').pop() || '{}') as { sent?: number; intact?: boolean; firstDiff?: number; error?: string };
    if (res.error || res.sent === undefined) throw new Error(`the integrity transfer failed: ${res.error ?? r.stderr}`);
    return res.intact ? 0 : res.sent - (res.firstDiff ?? 0);
  }
}
