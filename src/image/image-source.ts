// Where an image is read from: a raw image file, a block device or an NBD export, behind one
// interface with exact positional reads; openImageSource picks the kind from the argument.

import type { BlockSource, Extent } from './allocation/index.js';
import { openFileSource } from './file-source.js';
import { openNbdSource } from './nbd-source.js';

export type SourceKind = 'file' | 'device' | 'nbd';

export interface ImageSource extends BlockSource {
  readonly kind: SourceKind;
  /** The source as given (a path or an NBD URI), for messages and the block directory. */
  readonly location: string;
  /** The image name to use without --name: a file's or device's base name, an NBD export's name. */
  readonly defaultName: string | undefined;
  /** Fills `target` with the bytes at `offset`; the range lies within the source. */
  readInto(offset: number, target: Buffer): Promise<void>;
  /** Extents a dirty bitmap marks as written; only for an NBD source opened with that bitmap. */
  dirtyExtents?(): AsyncIterable<Extent>;
  /** Why the source cannot be trusted to be unchanged since it was opened, if it can tell. */
  changedSinceOpen?(): Promise<string | undefined>;
  close(): Promise<void>;
}

export interface OpenSourceOptions {
  /** Ask an NBD server for the qemu dirty bitmap of this name. */
  readonly dirtyBitmap?: string;
  /** Called when the bitmap cannot be had, with the reason; the source then opens without it. */
  readonly onBitmapUnavailable?: (reason: string) => void;
}

export function isNbdUri(source: string): boolean {
  return /^nbds?(\+unix)?:\/\//.test(source);
}

export function openImageSource(source: string, options: OpenSourceOptions = {}): Promise<ImageSource> {
  return isNbdUri(source) ? openNbdSource(source, options) : openFileSource(source);
}
