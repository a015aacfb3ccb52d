// restic's fixed chunker parameters. Every value here changes chunk boundaries, and so
// deduplication against restic-written data; the wasm kernel hard-codes the same numbers.

/** Bytes in the rolling-hash window. */
export const WINDOW_SIZE = 64;
/** No chunk is shorter than this, except the last one of a stream. */
export const MIN_SIZE = 512 * 1024;
/** A chunk is cut here even without a boundary. */
export const MAX_SIZE = 8 * 1024 * 1024;
/** A boundary is where the low 20 bits of the digest are zero: about 1 MiB apart on average. */
export const SPLIT_MASK = (1 << 20) - 1;
/** Bytes at the start of every chunk that are counted but never hashed. */
export const PRE_HASH_SKIP = MIN_SIZE - WINDOW_SIZE;
/** Highest polynomial degree the 64-bit digest arithmetic allows. */
export const MAX_DEGREE = 53;
/** Lowest degree for which the top byte of the digest indexes the reduction table. */
export const MIN_DEGREE = 8;
