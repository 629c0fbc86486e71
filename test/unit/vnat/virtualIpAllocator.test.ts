import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIpv4, parseIpv4 } from '../../../daemon/net/ipv4';
import { VirtualIpAllocator, VirtualSubnetExhaustedError } from '../../../daemon/vnat/virtualIpAllocator';

const seed = () => new VirtualIpAllocator([
  { realSubnet: '10.130.0.0/16', virtualRange: '246.246.0.0/17' },
  { realSubnet: '10.132.0.0/16', virtualRange: '246.246.128.0/17' },
]);

test('allocates on demand, in order, per block', () => {
  const a = seed();
  assert.equal(a.toVirtual('10.130.0.10'), '246.246.0.0');
  assert.equal(a.toVirtual('10.130.7.7'), '246.246.0.1');
  assert.equal(a.toVirtual('10.132.0.5'), '246.246.128.0');
  assert.equal(a.size, 3);
});

test('stable: the same real IP always gets the same virtual IP', () => {
  const a = seed();
  const first = a.toVirtual('10.130.1.2');
  a.toVirtual('10.130.9.9');
  assert.equal(a.toVirtual('10.130.1.2'), first);
  assert.equal(a.size, 2);
});

test('reverse lookup gives the real IP and its subnet; unknown virtual IPs give nothing', () => {
  const a = seed();
  const v = a.toVirtual('10.132.44.1')!;
  assert.equal(a.toReal(v), '10.132.44.1');
  assert.deepEqual(a.lookupVirtual(v), { realIp: '10.132.44.1', virtualIp: v, subnet: '10.132.0.0/16' });
  assert.equal(a.toReal('246.246.0.200'), undefined, 'inside a range but never handed out');
  assert.equal(a.toReal('1.2.3.4'), undefined);
});

test('IPs outside every VNAT subnet are left alone (and allocate nothing)', () => {
  const a = seed();
  assert.equal(a.toVirtual('10.131.0.1'), undefined);
  assert.equal(a.toVirtual('not an ip'), undefined);
  assert.equal(a.toVirtualIpv4(parseIpv4('8.8.8.8')), -1);
  assert.equal(a.size, 0);
});

test('never-proxy carve-outs get no virtual IP', () => {
  const a = new VirtualIpAllocator([{ realSubnet: '10.130.0.0/16', virtualRange: '246.246.0.0/16' }], { exclude: ['10.130.99.0/24'] });
  assert.equal(a.toVirtual('10.130.99.5'), undefined);
  assert.equal(a.toVirtual('10.130.98.5'), '246.246.0.0');
});

test('a VNAT CIDR inside another one wins (most specific first)', () => {
  const a = new VirtualIpAllocator([
    { realSubnet: '10.0.0.0/8', virtualRange: '246.246.0.0/17' },
    { realSubnet: '10.130.0.0/16', virtualRange: '246.246.128.0/17' },
  ]);
  assert.equal(a.toVirtual('10.130.0.1'), '246.246.128.0');
  assert.equal(a.toVirtual('10.1.0.1'), '246.246.0.0');
});

test('exhaustion is a clear error naming the subnet and the setting, and never wraps', () => {
  const a = new VirtualIpAllocator([{ realSubnet: '10.130.0.0/16', virtualRange: '246.246.0.0/30' }]);
  const handed = ['10.130.0.1', '10.130.0.2', '10.130.0.3', '10.130.0.4'].map((ip) => a.toVirtual(ip));
  assert.deepEqual(handed, ['246.246.0.0', '246.246.0.1', '246.246.0.2', '246.246.0.3']);
  assert.throws(() => a.toVirtual('10.130.0.5'), (err: unknown) => {
    assert.ok(err instanceof VirtualSubnetExhaustedError);
    assert.equal(err.message, 'no virtual IP left for cluster subnet 10.130.0.0/16: all 4 addresses of its virtual range 246.246.0.0/30 are in use; set routing.virtualSubnet to a larger subnet (e.g. a /16 or wider) and reconnect');
    return true;
  });
  assert.throws(() => a.toVirtual('10.130.0.6'), VirtualSubnetExhaustedError, 'still exhausted, no wrap');
  assert.equal(a.toVirtual('10.130.0.1'), '246.246.0.0', 'existing mappings keep working');
  assert.equal(a.toReal('246.246.0.0'), '10.130.0.1');
});

test('a whole /16 of mappings (65,536) in well under a second, both directions O(1)', () => {
  const a = new VirtualIpAllocator([{ realSubnet: '10.130.0.0/16', virtualRange: '246.246.0.0/16' }]);
  const base = parseIpv4('10.130.0.0');
  const start = process.hrtime.bigint();
  let check = 0;
  // Scrambled order, as DNS answers arrive.
  for (let i = 0; i < 65536; i++) check ^= a.toVirtualIpv4((base + ((i * 40503) & 0xffff)) >>> 0);
  const allocatedMs = Number(process.hrtime.bigint() - start) / 1e6;
  for (let i = 0; i < 65536; i++) check ^= a.toRealIpv4(a.toVirtualIpv4((base + i) >>> 0));
  const totalMs = Number(process.hrtime.bigint() - start) / 1e6;
  console.log(`# 65,536 allocations: ${allocatedMs.toFixed(1)} ms; plus 65,536 lookups each way: ${totalMs.toFixed(1)} ms total`);
  assert.equal(a.size, 65536);
  assert.notEqual(check, -1);
  assert.ok(allocatedMs < 500, `allocation took ${allocatedMs} ms`);
  assert.notEqual(a.toReal('246.246.255.255'), undefined, 'the last address of the range is used too');
});

test('every virtual IP maps back to the real IP it was given for (bijection over a /20)', () => {
  const a = new VirtualIpAllocator([{ realSubnet: '10.132.0.0/20', virtualRange: '246.246.0.0/20' }]);
  const seen = new Set<string>();
  for (let i = 4095; i >= 0; i--) {
    const real = formatIpv4((parseIpv4('10.132.0.0') + i) >>> 0);
    const v = a.toVirtual(real)!;
    assert.equal(seen.has(v), false);
    seen.add(v);
    assert.equal(a.toReal(v), real);
  }
});

test('IPv6 real subnets map into an IPv6 virtual range', () => {
  const a = new VirtualIpAllocator([{ realSubnet: 'fd00:10::/64', virtualRange: 'fd99::/96' }]);
  assert.deepEqual(a.families, { ipv4: false, ipv6: true });
  const v = a.toVirtual('fd00:10::5')!;
  assert.equal(v, 'fd99::');
  assert.equal(a.toVirtual('fd00:10:0:0::5'), v, 'any spelling of the same address');
  assert.equal(a.toVirtual('fd00:10::6'), 'fd99::1');
  assert.equal(a.toReal('fd99::1'), 'fd00:10::6');
  assert.equal(a.toVirtual('fd00:11::1'), undefined);
  assert.deepEqual(a.lookupVirtual('fd99::'), { realIp: 'fd00:10::5', virtualIp: 'fd99::', subnet: 'fd00:10::/64' });
});

test('signed and unsigned forms of the same uint32 are the same address', () => {
  const a = new VirtualIpAllocator([{ realSubnet: '200.0.0.0/8', virtualRange: '246.246.0.0/16' }]);
  const unsigned = parseIpv4('200.1.2.3');
  const signed = unsigned | 0;
  assert.ok(signed < 0);
  assert.equal(a.toVirtualIpv4(signed), a.toVirtualIpv4(unsigned));
  assert.equal(a.size, 1);
  assert.equal(a.toRealIpv4(parseIpv4('246.246.0.0') | 0), unsigned);
});

test('mappings() lists every allocation with its subnet', () => {
  const a = seed();
  a.toVirtual('10.130.0.1');
  a.toVirtual('10.132.0.1');
  assert.deepEqual([...a.mappings()], [
    { realIp: '10.130.0.1', virtualIp: '246.246.0.0', subnet: '10.130.0.0/16' },
    { realIp: '10.132.0.1', virtualIp: '246.246.128.0', subnet: '10.132.0.0/16' },
  ]);
});

test('fromPlan takes vnat/proxy-via entries and excludes never-proxy ones', () => {
  const a = VirtualIpAllocator.fromPlan({
    virtualSubnet: '246.246.0.0/16',
    subnets: [
      { subnet: '10.130.0.0/16', origin: 'service', resolution: 'vnat', virtualRange: '246.246.0.0/17' },
      { subnet: '10.132.0.0/16', origin: 'pods', resolution: 'route' },
      { subnet: '10.130.5.0/24', origin: 'service', resolution: 'never-proxy' },
    ],
  });
  assert.equal(a.toVirtual('10.130.0.9'), '246.246.0.0');
  assert.equal(a.toVirtual('10.130.5.9'), undefined);
  assert.equal(a.toVirtual('10.132.0.9'), undefined);
});

test('overlapping virtual ranges and mixed families are refused', () => {
  assert.throws(() => new VirtualIpAllocator([
    { realSubnet: '10.130.0.0/16', virtualRange: '246.246.0.0/16' },
    { realSubnet: '10.132.0.0/16', virtualRange: '246.246.128.0/17' },
  ]), /virtual ranges 246\.246\.0\.0\/16 and 246\.246\.128\.0\/17 overlap/);
  assert.throws(() => new VirtualIpAllocator([{ realSubnet: 'fd00::/64', virtualRange: '246.246.0.0/16' }]), /another IP family/);
});
