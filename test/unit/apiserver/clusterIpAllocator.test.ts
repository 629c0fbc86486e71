import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { ApiStatusError } from '../../lab/apiserver/apiStatus';
import { ClusterIpAllocator, ipToNumber, numberToIp, parseCidr } from '../../lab/apiserver/clusterIpAllocator';

describe('CIDR arithmetic', () => {
  test('parseCidr normalizes to the network and refuses what is not IPv4 /8../30', () => {
    assert.deepEqual(parseCidr('10.130.0.0/16'), { base: ipToNumber('10.130.0.0'), bits: 16, size: 65536 });
    assert.equal(numberToIp(parseCidr('10.130.7.9/16').base), '10.130.0.0');
    assert.throws(() => parseCidr('10.130.0.0'), /is not an IPv4 CIDR/);
    assert.throws(() => parseCidr('fd00::/64'), /is not an IPv4 CIDR/);
    assert.throws(() => parseCidr('10.0.0.0/31'), /between \/8 and \/30/);
  });

  test('ipToNumber and numberToIp round trip, invalid text is undefined', () => {
    for (const ip of ['0.0.0.0', '10.130.0.1', '255.255.255.255', '192.168.0.9']) assert.equal(numberToIp(ipToNumber(ip)!), ip);
    for (const bad of ['10.130.0', '10.130.0.256', '10.130.0.-1', 'a.b.c.d', '1.2.3.4.5', '::1']) assert.equal(ipToNumber(bad), undefined, bad);
  });
});

describe('ClusterIpAllocator', () => {
  const statusOf = (fn: () => void): ApiStatusError => {
    try { fn(); } catch (err) { assert.ok(err instanceof ApiStatusError); return err; }
    assert.fail('expected an ApiStatusError');
  };

  test('allocates distinct addresses inside the range, never the network, .1 or the broadcast address', () => {
    const a = new ClusterIpAllocator('10.130.0.0/16');
    const taken = new Set<string>(['10.130.0.1']);
    for (let i = 0; i < 50; i++) {
      const ip = a.allocate(`svc${i}`, taken);
      assert.ok(a.contains(ip), ip);
      assert.ok(!taken.has(ip), `${ip} handed out twice`);
      assert.notEqual(ip, '10.130.0.0');
      assert.notEqual(ip, '10.130.255.255');
      taken.add(ip);
    }
    // Dynamic allocation stays above the static band (kube-dns's 10.130.0.10 lives there).
    for (const ip of taken) if (ip !== '10.130.0.1') assert.ok(ipToNumber(ip)! > ipToNumber('10.130.1.0')!, ip);
  });

  test('a requested address inside the range and free is accepted', () => {
    const a = new ClusterIpAllocator('10.130.0.0/16');
    assert.doesNotThrow(() => a.validateRequested('dns', '10.130.0.10', new Set(['10.130.0.1'])));
  });

  test('a requested address outside the range is the real 422, ending with the range', () => {
    const a = new ClusterIpAllocator('10.130.0.0/16');
    const err = statusOf(() => a.validateRequested('x', '192.168.0.9', new Set()));
    assert.equal(err.code, 422);
    assert.equal(err.reason, 'Invalid');
    assert.match(err.message, /^Service "x" is invalid: spec\.clusterIPs: Invalid value: .*192\.168\.0\.9.*: failed to allocate IP 192\.168\.0\.9: the provided IP \(192\.168\.0\.9\) is not in the valid range\. /);
    assert.ok(err.message.endsWith('The range of valid IPs is 10.130.0.0/16'), err.message);
    assert.equal(err.toStatus().details?.causes?.[0]?.field, 'spec.clusterIPs');
    // The network and broadcast addresses are outside the usable range too.
    assert.match(statusOf(() => a.validateRequested('x', '10.130.0.0', new Set())).message, /The range of valid IPs is 10\.130\.0\.0\/16$/);
    assert.match(statusOf(() => a.validateRequested('x', '10.130.255.255', new Set())).message, /The range of valid IPs is 10\.130\.0\.0\/16$/);
  });

  test('a requested address already in use, or not an address, is refused', () => {
    const a = new ClusterIpAllocator('10.130.0.0/16');
    assert.match(statusOf(() => a.validateRequested('y', '10.130.0.10', new Set(['10.130.0.10']))).message, /failed to allocate IP 10\.130\.0\.10: provided IP is already allocated$/);
    assert.match(statusOf(() => a.validateRequested('y', 'not-an-ip', new Set())).message, /must be a valid IP address/);
  });

  test('a full range is a 422 naming the range; a released address is handed out again', () => {
    const a = new ClusterIpAllocator('10.140.0.0/29'); // 6 usable addresses
    const taken = new Set<string>();
    for (let i = 0; i < 6; i++) taken.add(a.allocate(`s${i}`, taken));
    assert.deepEqual([...taken].sort(), ['10.140.0.1', '10.140.0.2', '10.140.0.3', '10.140.0.4', '10.140.0.5', '10.140.0.6']);
    const full = statusOf(() => a.allocate('s6', taken));
    assert.equal(full.code, 422);
    assert.match(full.message, /range is full \(10\.140\.0\.0\/29\)/);
    taken.delete('10.140.0.4');
    assert.equal(a.allocate('s7', taken), '10.140.0.4');
  });

  test('in a range with a dynamic band, a released address comes back once the band is used up', () => {
    const a = new ClusterIpAllocator('10.150.0.0/24'); // 254 usable, 16 static, 238 dynamic
    const taken = new Set<string>();
    for (let i = 0; i < 254; i++) taken.add(a.allocate(`s${i}`, taken));
    assert.equal(taken.size, 254);
    assert.throws(() => a.allocate('more', taken), /range is full/);
    taken.delete('10.150.0.100');
    assert.equal(a.allocate('again', taken), '10.150.0.100');
  });
});
