// AssemblyScript source of the wasm rolling-hash kernel: finds restic's chunk boundaries in bytes
// that the host places in this module's memory. Rebuild with `npm run build:wasm`.

// The host writes the two 256-entry u64 tables at these offsets (see wasm-kernel.ts) and puts its
// input at or after 4096. The kernel allocates nothing, so no runtime is linked.
const OUT_TABLE: usize = 0;
const MOD_TABLE: usize = 2048;

// restic's fixed parameters; params.ts holds the same values for the host side.
const WINDOW: usize = 64;
const MIN_SIZE: u32 = 512 * 1024;
const MAX_SIZE: u32 = 8 * 1024 * 1024;
const PRE: u32 = MIN_SIZE - <u32>WINDOW;
const SPLIT_MASK: u64 = (1 << 20) - 1;

// A fresh chunk starts as restic's reset leaves it: an all-zero window into which one byte of
// value 1 has been slid, which makes the digest 1.
const RESET_DIGEST: u64 = 1;

// Four-lane hashing (see scan): bytes per lane per round, measured best among 4, 16 and 64 KiB,
// and the least span worth splitting, since each extra lane costs a 64-byte warm-up.
const LANE: usize = 16 * 1024;
const MIN_LANE: usize = 1024;

let polShift: u64 = 45;
let digest: u64 = RESET_DIGEST;
let count: u32 = 0;
let cutDigest: u64 = 0;
// The digest where `run` stopped; a second return value.
let runDigest: u64 = 0;

export function setPolShift(shift: u32): void {
  polShift = <u64>shift;
}

export function reset(): void {
  digest = RESET_DIGEST;
  count = 0;
}

/** Bytes of the chunk that is still open. */
export function pending(): u32 {
  return count;
}

/** The digest at which the last chunk was cut. */
export function lastCutDigest(): u64 {
  return cutDigest;
}

function cut(p: usize, d: u64): usize {
  cutDigest = d;
  digest = RESET_DIGEST;
  count = 0;
  return p;
}

/** Slides byte p into the window, pushing out byte p − 64. */
// @ts-ignore: decorator
@inline function slide(d: u64, p: usize, shift: u64): u64 {
  d ^= load<u64>(OUT_TABLE + (<usize>load<u8>(p - WINDOW) << 3));
  return ((d << 8) | <u64>load<u8>(p)) ^ load<u64>(MOD_TABLE + (<usize>(d >> shift) << 3));
}

/** The digest of the 64 bytes before p alone, as if they had entered an all-zero window. */
function warmUp(p: usize, shift: u64): u64 {
  let d: u64 = 0;
  for (let q = p - WINDOW; q < p; q++) {
    d = ((d << 8) | <u64>load<u8>(q)) ^ load<u64>(MOD_TABLE + (<usize>(d >> shift) << 3));
  }
  return d;
}

/** One lane over [p, end): the address past the first boundary, or 0; runDigest holds the digest. */
function run(p: usize, end: usize, d: u64, shift: u64): usize {
  while (p < end) {
    d = slide(d, p, shift);
    p++;
    if ((d & SPLIT_MASK) == 0) {
      runDigest = d;
      return p;
    }
  }
  runDigest = d;
  return 0;
}

/**
 * Scans memory [start, end) as the continuation of the open chunk. Returns the address just past
 * the cut, or 0 when the range ended without one. Once the open chunk is MIN_SIZE long, the 64
 * bytes before `start` must still be the stream's preceding bytes: the outgoing window byte is
 * read back from memory instead of from a ring.
 */
export function scan(start: usize, end: usize): usize {
  let p = start;
  let c = count;
  let d = digest;
  const shift = polShift;

  if (c < PRE) {
    const skip = min<usize>(<usize>(PRE - c), end - p);
    p += skip;
    c += <u32>skip;
    if (c < PRE) {
      count = c;
      return 0;
    }
  }

  // The first 64 hashed bytes of a chunk push out the reset window (63 zeros, then the 1), not
  // stream bytes.
  while (c < MIN_SIZE) {
    if (p >= end) {
      count = c;
      digest = d;
      return 0;
    }
    if (c == MIN_SIZE - 1) d ^= load<u64>(OUT_TABLE + 8);
    d = ((d << 8) | <u64>load<u8>(p)) ^ load<u64>(MOD_TABLE + (<usize>(d >> shift) << 3));
    p++;
    c++;
    if (c == MIN_SIZE && (d & SPLIT_MASK) == 0) return cut(p, d);
  }

  const from = p;
  let limit = end;
  if (limit - p > <usize>(MAX_SIZE - c)) limit = p + <usize>(MAX_SIZE - c);

  // From here on the digest is the fingerprint of the last 64 bytes and of nothing before them
  // (the reset's 1 has been pushed out again). So a span can be cut into four lanes, each after
  // the first starting from its own warm-up, and hashed interleaved: four independent dependency
  // chains keep the CPU busy where one chain waits on table loads. The digests are exactly the
  // one-lane digests; the earliest boundary wins.
  while (limit - p >= 4 * MIN_LANE) {
    let span = limit - p;
    if (span > 4 * LANE) span = 4 * LANE;
    const lane = span >> 2;
    let p0 = p;
    let p1 = p + lane;
    let p2 = p1 + lane;
    let p3 = p2 + lane;
    const end0 = p1;
    let d1 = warmUp(p1, shift);
    let d2 = warmUp(p2, shift);
    let d3 = warmUp(p3, shift);
    let hit = false;
    while (p0 < end0) {
      d = slide(d, p0++, shift);
      d1 = slide(d1, p1++, shift);
      d2 = slide(d2, p2++, shift);
      d3 = slide(d3, p3++, shift);
      if ((((d & SPLIT_MASK) == 0) | ((d1 & SPLIT_MASK) == 0)) | (((d2 & SPLIT_MASK) == 0) | ((d3 & SPLIT_MASK) == 0))) {
        hit = true;
        break;
      }
    }
    if (hit) {
      // Some lane stopped on a boundary; each lane before it must finish first, as it may hold
      // an earlier one.
      if ((d & SPLIT_MASK) == 0) return cut(p0, d);
      let at = run(p0, end0, d, shift);
      if (at != 0) return cut(at, runDigest);
      if ((d1 & SPLIT_MASK) == 0) return cut(p1, d1);
      at = run(p1, end0 + lane, d1, shift);
      if (at != 0) return cut(at, runDigest);
      if ((d2 & SPLIT_MASK) == 0) return cut(p2, d2);
      at = run(p2, end0 + 2 * lane, d2, shift);
      if (at != 0) return cut(at, runDigest);
      return cut(p3, d3);
    }
    p = p3;
    d = d3;
  }

  const at = run(p, limit, d, shift);
  if (at != 0) return cut(at, runDigest);
  c += <u32>(limit - from);
  if (c >= MAX_SIZE) return cut(limit, runDigest);
  count = c;
  digest = runDigest;
  return 0;
}
