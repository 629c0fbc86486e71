import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readRoutingTable } from '../../../daemon/routing/routingTableReader';
import type { CommandRunner } from '../../../daemon/system/commandRunner';
import { fixture } from './fixtures';

function fakeRunner(outputs: Record<string, string>, calls: string[] = []): CommandRunner {
  return async (command, args) => {
    const line = [command, ...args].join(' ');
    calls.push(line);
    const key = Object.keys(outputs).find((k) => line.includes(k));
    return key === undefined ? { code: 1, stdout: '', stderr: `unexpected ${line}` } : { code: 0, stdout: outputs[key]!, stderr: '' };
  };
}

test('Linux: runs ip -j addr and ip -j -4/-6 route show table all, and joins both families', async () => {
  const calls: string[] = [];
  const routes = await readRoutingTable({
    platform: 'linux',
    run: fakeRunner({ 'ip -j addr show': fixture('linux/addr.json'), 'ip -j -4 route': fixture('linux/route4.json'), 'ip -j -6 route': fixture('linux/route6.json') }, calls),
  });
  assert.deepEqual(calls.sort(), ['ip -j -4 route show table all', 'ip -j -6 route show table all', 'ip -j addr show']);
  assert.ok(routes.some((r) => r.family === 4 && r.subnet === '10.0.0.0/8'));
  assert.ok(routes.some((r) => r.family === 6 && r.subnet === 'fd00:10::/48'));
});

test('macOS: netstat -rn and ifconfig', async () => {
  const routes = await readRoutingTable({ platform: 'darwin', run: fakeRunner({ 'netstat -rn': fixture('darwin/netstat-rn.txt'), ifconfig: fixture('darwin/ifconfig.txt') }) });
  assert.ok(routes.some((r) => r.subnet === '10.0.0.0/8' && r.localIp === '10.0.0.0'));
});

test('Windows: Get-NetRoute and Get-NetIPAddress through PowerShell', async () => {
  const calls: string[] = [];
  const routes = await readRoutingTable({ platform: 'win32', run: fakeRunner({ 'Get-NetRoute': fixture('windows/get-netroute.json'), 'Get-NetIPAddress': fixture('windows/get-netipaddress.json') }, calls) });
  assert.ok(calls.every((c) => c.startsWith('powershell -NoProfile -NonInteractive -Command ')));
  assert.ok(routes.some((r) => r.subnet === '10.0.0.0/8' && r.localIp === '10.0.0.2'));
});

test('a failing tool is reported with its command line', async () => {
  await assert.rejects(readRoutingTable({ platform: 'linux', run: fakeRunner({}) }), /`ip -j .*` failed \(exit 1\)/);
});

test('an unsupported platform says what to do instead', async () => {
  await assert.rejects(readRoutingTable({ platform: 'aix', run: fakeRunner({}) }), /not supported on aix; pass the cluster subnets/);
});
