// Sparse restores: whole zero blocks of a new file are not written but left as holes (the file's
// final size comes from a truncate), blocks aligned to file offsets so that they match the disk's.

/** Holes are made of whole blocks of this size. */
const HOLE_BLOCK = 4096;
const zeroBlock = Buffer.alloc(HOLE_BLOCK);

/** The parts of `data` (to be written at file offset `position`) that are not whole zero blocks. */
export function nonZeroRuns(data: Buffer, position: number): [start: number, end: number][] {
  const runs: [number, number][] = [];
  let runStart = -1;
  let at = 0;
  while (at < data.length) {
    const end = Math.min(data.length, at + HOLE_BLOCK - ((position + at) % HOLE_BLOCK));
    if (zeroBlock.compare(data, at, end, 0, end - at) === 0) {
      if (runStart >= 0) runs.push([runStart, at]);
      runStart = -1;
    } else if (runStart < 0) runStart = at;
    at = end;
  }
  if (runStart >= 0) runs.push([runStart, data.length]);
  return runs;
}
