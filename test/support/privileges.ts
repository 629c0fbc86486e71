// Tells whether this process may create network namespaces, TUN devices and
// nftables rules, and if not, why: tests that need them skip with that reason.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

let cached: string | undefined | null = null;

/** undefined when every privilege is present; otherwise a human-readable reason. */
export function missingNetworkPrivileges(): string | undefined {
  if (cached !== null) return cached;
  cached = probe();
  if (cached && process.env.CI && process.env.TPV_REQUIRE_PRIVILEGES !== '0') {
    // CI has root and namespaces: a skip there would hide a broken suite.
    throw new Error(`CI must run the privileged suites, but: ${cached}`);
  }
  return cached;
}

function probe(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not running as root';
  if (!existsSync('/dev/net/tun')) return '/dev/net/tun is missing';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'iproute2 (`ip`) is not installed';
  }
  try {
    execFileSync('nft', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'nftables (`nft`) is not installed';
  }
  return undefined;
}
