import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { VnatMapping } from '../../../daemon/protocol/rpc';
import { compareIps, filterRows, formatBytes, summaryText, toRows } from '../../../webview/vnatRows';
import { isFromWebview } from '../../../webview/vnatMessages';
import { vnatViewHtml } from '../../../extension/vnat/vnatHtml';

function mapping(realIp: string, virtualIp: string, extra: Partial<VnatMapping> = {}): VnatMapping {
  return { realIp, virtualIp, subnet: '10.130.0.0/16', names: [], envVars: [], flows: 0, bytesIn: 0, bytesOut: 0, createdAt: 't', ...extra };
}

const mappings = [
  mapping('10.130.0.20', '246.246.0.10', { names: ['redis.team'], envVars: ['REDIS_SERVICE_HOST'], service: { namespace: 'team', name: 'redis' } }),
  mapping('10.132.0.5', '246.246.0.2', { subnet: '10.132.0.0/16', workload: { namespace: 'default', name: 'echo', kind: 'Deployment' }, flows: 3, bytesIn: 2048, bytesOut: 10 }),
  mapping('10.130.0.10', '246.246.0.9', { names: ['echo.default', 'echo.default.svc.cluster.local'], service: { namespace: 'default', name: 'echo' } }),
];

test('rows: one per mapping, ordered by virtual IP numerically, with readable columns', () => {
  const rows = toRows(mappings);
  assert.deepEqual(rows.map((r) => r.virtualIp), ['246.246.0.2', '246.246.0.9', '246.246.0.10']);
  assert.equal(rows[0]!.target, 'Deployment default/echo');
  assert.equal(rows[0]!.bytes, '2.0 KiB in / 10 B out');
  assert.equal(rows[1]!.names, 'echo.default, echo.default.svc.cluster.local');
  assert.equal(rows[2]!.envVars, 'REDIS_SERVICE_HOST');
});

test('filter: every word must match some column, case-insensitive', () => {
  const rows = toRows(mappings);
  assert.deepEqual(filterRows(rows, 'ECHO').map((r) => r.realIp), ['10.132.0.5', '10.130.0.10']);
  assert.deepEqual(filterRows(rows, 'echo svc').map((r) => r.realIp), ['10.130.0.10']);
  assert.deepEqual(filterRows(rows, 'redis_service').map((r) => r.realIp), ['10.130.0.20']);
  assert.deepEqual(filterRows(rows, '246.246.0.1').map((r) => r.virtualIp), ['246.246.0.10']);
  assert.equal(filterRows(rows, '  ').length, 3);
  assert.equal(filterRows(rows, 'nothing-like-this').length, 0);
  assert.equal(summaryText(3, 1, 'echo svc'), '1 of 3 mappings match "echo svc"');
  assert.equal(summaryText(1, 1, ''), '1 mapping');
});

test('bytes and IP ordering helpers', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1023), '1023 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(50 * 1024 * 1024), '50 MiB');
  assert.equal(formatBytes(-1), '?');
  assert.ok(compareIps('10.0.0.9', '10.0.0.10') < 0);
  assert.ok(compareIps('10.0.0.1', 'fd00::1') < 0);
});

test('messages from the webview are validated before use', () => {
  assert.equal(isFromWebview({ type: 'ready' }), true);
  assert.equal(isFromWebview({ type: 'copy', text: 'x' }), true);
  assert.equal(isFromWebview({ type: 'copy', text: 'x'.repeat(5000) }), false);
  assert.equal(isFromWebview({ type: 'reveal', realIp: '1.2.3.4' }), false);
  assert.equal(isFromWebview({ type: 'exec', command: 'rm' }), false);
  assert.equal(isFromWebview(null), false);
});

test('the view HTML carries a strict CSP with the nonce on every script and style', () => {
  const html = vnatViewHtml({ nonce: 'N0nce+/=', cspSource: 'https://file+.vscode-resource.vscode-cdn.net', scriptUri: 'https://x/dist/webview/vnatView.js' });
  const csp = /content="([^"]+)"/.exec(html)![1]!;
  assert.match(csp, /^default-src 'none';/);
  assert.match(csp, /script-src 'nonce-N0nce\+\/='/);
  assert.ok(!/unsafe-(inline|eval)/.test(csp));
  const tags = html.match(/<(script|style)\b[^>]*>/g)!;
  assert.ok(tags.length >= 2);
  for (const t of tags) assert.match(t, /nonce="N0nce\+\/="/);
  assert.ok(!/style="/.test(html), 'no inline style attributes (the CSP would block them)');
});
