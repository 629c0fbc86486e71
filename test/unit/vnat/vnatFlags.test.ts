import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatCidr } from '../../../daemon/net/cidr';
import { dns1123LabelProblem, parseVnatRules, type VnatRule } from '../../../daemon/vnat/vnatFlags';

const show = (rules: VnatRule[]) => rules.map((r) => `${r.target.kind === 'cidr' ? formatCidr(r.target.cidr) : r.target.symbol}=${r.workload}`);

test('--vnat X is --proxy-via X=local', () => {
  assert.deepEqual(show(parseVnatRules(['10.130.0.0/16'], [])), show(parseVnatRules([], ['10.130.0.0/16=local'])));
  assert.deepEqual(show(parseVnatRules(['service'], [])), ['service=local']);
});

test('"all" expands to also, pods and service', () => {
  assert.deepEqual(show(parseVnatRules(['all'], [])), ['also=local', 'pods=local', 'service=local']);
  assert.deepEqual(show(parseVnatRules([], ['all=echo'])), ['also=echo', 'pods=echo', 'service=echo']);
});

test('symbols and CIDRs combine; comma lists are split like Telepresence\'s string-slice flags', () => {
  assert.deepEqual(show(parseVnatRules(['service,10.200.0.0/16'], ['pods=echo'])), ['service=local', '10.200.0.0/16=local', 'pods=echo']);
});

test('a repeated symbol is rejected', () => {
  assert.throws(() => parseVnatRules(['service', 'service'], []), /--vnat service repeats a subnet already given by --vnat service.*give each symbol only once/);
  assert.throws(() => parseVnatRules(['pods'], ['pods=echo']), /--proxy-via pods=echo repeats/);
});

test('"all" after any symbol, and any symbol after "all", are rejected', () => {
  assert.throws(() => parseVnatRules(['service', 'all'], []), /--vnat all repeats a subnet already given by --vnat service/);
  assert.throws(() => parseVnatRules(['all', 'also'], []), /--vnat also repeats a subnet already given by --vnat all/);
});

test('overlapping CIDRs are rejected, in either order', () => {
  assert.throws(() => parseVnatRules(['10.0.0.0/8', '10.130.0.0/16'], []), /CIDRs 10\.0\.0\.0\/8 and 10\.130\.0\.0\/16 are overlapping \(--vnat 10\.0\.0\.0\/8 and --vnat 10\.130\.0\.0\/16\)/);
  assert.throws(() => parseVnatRules(['10.130.0.0/16'], ['10.0.0.0/8=echo']), /CIDRs 10\.130\.0\.0\/16 and 10\.0\.0\.0\/8 are overlapping/);
  assert.equal(parseVnatRules(['10.130.0.0/16', '10.132.0.0/16'], []).length, 2);
});

test('--proxy-via without "=WORKLOAD" shows the expected form', () => {
  assert.throws(() => parseVnatRules([], ['10.130.0.0/16']), /--proxy-via "10\.130\.0\.0\/16" is not in the form CIDR=WORKLOAD; e\.g\. --proxy-via 10\.130\.0\.0\/16=echo/);
  assert.throws(() => parseVnatRules([], ['=echo']), /not in the form CIDR=WORKLOAD/);
});

test('a target that is neither a CIDR nor a symbol names the symbols', () => {
  assert.throws(() => parseVnatRules(['services'], []), /--vnat services: "services" is neither a CIDR \(e\.g\. 10\.130\.0\.0\/16\) nor one of the symbols also, service, pods, all/);
});

for (const bad of ['Echo', 'echo_1', '-echo', 'echo-', 'a'.repeat(64), '', 'echo.svc']) {
  test(`workload ${JSON.stringify(bad)} is not a DNS-1123 label`, () => {
    assert.ok(dns1123LabelProblem(bad));
    assert.throws(() => parseVnatRules([], [`all=${bad}`]), /--proxy-via all=.*: workload ".*" (is not a DNS-1123 label|is empty|is 64 characters long)/);
  });
}

for (const good of ['echo', 'a', '123-abc', 'my-workload-1', 'a'.repeat(63)]) {
  test(`workload ${good.length > 20 ? `${good.length}×a` : good} is a DNS-1123 label`, () => assert.equal(dns1123LabelProblem(good), undefined));
}
