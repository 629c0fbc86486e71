// Reads the routing fixtures (captured on Linux, hand-written for macOS and Windows).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = join(__dirname, '../../fixtures/routing');

export function fixture(path: string): string {
  return readFileSync(join(dir, path), 'utf8');
}
