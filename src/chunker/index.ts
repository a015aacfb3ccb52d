// The chunker layer's public surface: restic's content-defined chunker (bit-exact, wasm with a
// TypeScript fallback) and the fixed-size block splitter used for disk images.

export { MAX_DEGREE, MAX_SIZE, MIN_DEGREE, MIN_SIZE, SPLIT_MASK, WINDOW_SIZE } from './params.js';
export {
  checkPolynomial,
  degree,
  formatPolynomial,
  isIrreducible,
  parsePolynomial,
  polyDivMod,
  polyGcd,
  polyMod,
  polyMul,
  polyMulMod,
  randomPolynomial,
} from './polynomial.js';
export { tablesFor, type RabinTables } from './tables.js';
export { wasmKernelError, type KernelChoice, type KernelKind } from './kernel.js';
export { Chunker, type ChunkerOptions, type Cut } from './chunker.js';
export { chunkStream } from './chunk-stream.js';
export { chunkFile, FileChunker, type FileChunkerOptions } from './chunk-file.js';
export { fixedBlocks } from './fixed-blocks.js';
