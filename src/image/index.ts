// The image layer's public surface: image backup with generations, restore to a file or device,
// generation listings and deltas. Allocation detection has its own surface in ./allocation/.

export { backupImage, DEFAULT_BLOCK_SIZE, defaultBlockSize, type ImageBackupEvent, type ImageBackupOptions, type ImageBackupResult } from './image-backup.js';
export { restoreImage, type RestoreImageEvent, type RestoreImageOptions, type RestoreImageResult } from './restore-image.js';
export { listGenerations, type GenerationRow, type GenerationsResult } from './generations.js';
export { applyDelta, exportDelta, type ApplyDeltaResult, type ExportDeltaOptions, type ExportDeltaResult } from './image-delta.js';
export { BlockDirectory, type GenerationInfo, type GenerationMode } from './block-directory.js';
export { decodeBlockDirectory, encodeBlockDirectory } from './block-directory-codec.js';
export { findImageSnapshot, type ImageSnapshot } from './image-snapshots.js';
export { parseChangeList } from './change-list.js';
export type { GrowResult } from './grow.js';
