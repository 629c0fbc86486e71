// The reliability suites' view of a lab workstation: the shared one
// (test/support/labWorkstation.ts) plus probes these suites use after each
// fault: a short HTTP request, a UDP echo, an integrity transfer, and helper
// scripts of this folder run in the namespace through tsx.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { LabWorkstation } from '../../support/labWorkstation';

export { alive, repoRoot, run, timeUntil, type Run } from '../../support/labWorkstation';
/** Label selector of the relay pods (daemon/cluster/relayManifests.ts). */
export { RELAY_SELECTOR } from '../../../daemon/cluster/relayManifests';

/** curl's exit code for a host name the resolver did not turn into an address. */
const CURL_COULD_NOT_RESOLVE = 6;

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
    return (await this.httpProbe(target, timeoutSeconds)).ok;
  }

  /**
   * The same request, with what curl saw when it failed: its exit code, its
   * error and how far it got (name lookup, connect, first byte), so an
   * assertion says which part of the path broke.
   */
  async httpProbe(target = 'http://echo.default/', timeoutSeconds = 2): Promise<{ ok: boolean; detail: string }> {
    const timings = '\\n%{http_code} lookup %{time_namelookup}s connect %{time_connect}s first byte %{time_starttransfer}s total %{time_total}s';
    const r = await this.exec('curl', ['-sS', '--max-time', String(timeoutSeconds), '-w', timings, target], (timeoutSeconds + 3) * 1000);
    const lines = r.stdout.trimEnd().split('\n');
    const progress = lines.pop() ?? '';
    const body = lines.join('\n');
    const ok = r.code === 0 && /pod=echo-/.test(body);
    const detail = `curl ${target} exited ${r.code}: ${r.stderr.trim() || 'no error'}; ${progress}${ok ? '' : `; body: ${body.slice(0, 200)}`}`;
    return { ok, detail: r.code === CURL_COULD_NOT_RESOLVE ? `${detail}\n${await this.lookupAccount(new URL(target).hostname)}` : detail };
  }

  /** What the resolver says about `host` right now, question by question as the stub resolver asks them. */
  private async lookupAccount(host: string): Promise<string> {
    const conf = await this.exec('cat', ['/etc/resolv.conf']);
    const lines = [`resolv.conf: ${conf.stdout.trim().replace(/\n+/g, ' | ')}`];
    for (const type of ['A', 'AAAA']) {
      const d = await this.exec('dig', ['+time=2', '+tries=1', '+search', '+noall', '+comments', '+answer', host, type]);
      lines.push(`dig +search ${host} ${type}: ${d.stdout.replace(/\s+/g, ' ').trim()}`);
    }
    return lines.join('\n');
  }

  /** Fails with curl's account of the request unless echo.default answers. */
  async assertHttpOk(when: string): Promise<void> {
    const http = await this.httpProbe();
    assert.ok(http.ok, `HTTP to echo.default failed ${when}: ${http.detail}`);
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
