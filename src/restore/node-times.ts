// Node's utimes family takes seconds as a double and libuv keeps only microseconds of it, so a
// restic time (nanoseconds) survives only when some double converts back to exactly that instant.

const NS_PER_S = 1_000_000_000n;

/** What libuv's uv__fs_to_timespec makes of a double: whole seconds and nanoseconds, cut to microseconds. */
function libuvTimespec(time: number): [sec: number, nsec: number] {
  let sec = Math.trunc(time);
  let nsec = Math.trunc((time - sec) * 1e9);
  nsec -= nsec % 1000;
  if (nsec < 0) {
    nsec += 1e9;
    sec -= 1;
  }
  return [sec, nsec];
}

const bits = new DataView(new ArrayBuffer(8));
const STEPS = [0n, 1n, -1n, 2n, -2n, 3n, -3n, 4n, -4n];

/** The double `steps` representable values away from x. */
function step(x: number, steps: bigint): number {
  bits.setFloat64(0, x);
  bits.setBigUint64(0, BigInt.asUintN(64, bits.getBigUint64(0) + steps));
  return bits.getFloat64(0);
}

/**
 * A seconds value for fs.utimes/futimes/lutimes that sets exactly `ns` nanoseconds since the
 * epoch, or undefined when there is none: a time that is not a whole microsecond, or one before
 * 1970 (Node replaces negative numbers by the current time).
 */
export function exactSeconds(ns: bigint): number | undefined {
  if (ns < 0n) return undefined;
  const wantSec = ns / NS_PER_S;
  const wantNsec = Number(ns % NS_PER_S);
  if (wantNsec % 1000 !== 0 || wantSec > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  const sec = Number(wantSec);
  const nearest = sec + wantNsec / 1e9;
  // The nearest double usually works; rounding can make a neighbour a few ulps away the one.
  for (const d of STEPS) {
    const candidate = d === 0n ? nearest : step(nearest, d);
    const [s, n] = libuvTimespec(candidate);
    if (s === sec && n === wantNsec) return candidate;
  }
  return undefined;
}

/** The closest seconds value Node accepts, for when an exact one is impossible. */
export function approximateSeconds(ns: bigint): number {
  // Negative numbers would mean "now" to Node; the earliest it can set is the epoch.
  if (ns < 0n) return 0;
  return Number(ns / NS_PER_S) + Number(ns % NS_PER_S) / 1e9;
}
