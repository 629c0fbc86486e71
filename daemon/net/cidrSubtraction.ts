// CIDR minus a set of CIDRs, as a list of CIDRs. The result is exact (no
// address lost or added) and minimal for each removal: a CIDR that holds a
// removed one is split into halves until the halves either hold none of it
// or are exactly it, which leaves at most (removed.prefix - base.prefix)
// pieces per removal.
import { type Cidr, cidrContains, cidrFromBigint, cidrsOverlap, compareCidrs, familyBits } from './cidr';

export function subtractCidrs(base: Cidr, removed: readonly Cidr[]): Cidr[] {
  let pieces: Cidr[] = [base];
  for (const r of removed) {
    if (r.family !== base.family) continue;
    const next: Cidr[] = [];
    for (const piece of pieces) splitAway(piece, r, next);
    pieces = next;
    if (pieces.length === 0) break;
  }
  return pieces.sort(compareCidrs);
}

function splitAway(piece: Cidr, removed: Cidr, out: Cidr[]): void {
  if (!cidrsOverlap(piece, removed)) { out.push(piece); return; }
  if (cidrContains(removed, piece)) return;
  // piece strictly contains removed: split in halves and keep going.
  const prefix = piece.prefix + 1;
  const first = BigInt(piece.network);
  const half = 1n << BigInt(familyBits(piece.family) - prefix);
  splitAway(cidrFromBigint(piece.family, first, prefix), removed, out);
  splitAway(cidrFromBigint(piece.family, first + half, prefix), removed, out);
}

/** The CIDRs of `all` that remain once every address in `removed` is taken out, per CIDR. */
export function subtractFromEach(all: readonly Cidr[], removed: readonly Cidr[]): Cidr[] {
  return all.flatMap((c) => subtractCidrs(c, removed));
}
