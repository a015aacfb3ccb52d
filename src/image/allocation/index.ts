// The public face of allocation detection: which byte ranges of a volume image are in use, and
// their projection onto backup blocks. Everything else in this folder is internal.

export { detectAllocation } from './detect-allocation.js';
export { usedBlocks, UsedBlocks } from './used-blocks.js';
export type { AllocationMap, BlockSource, DetectOptions, Extent, FsType, LayoutPart, TableKind, VolumePart } from './types.js';
