// Collects sealed blobs of one type into a pack file being written (see pack-files.ts) and, when
// asked, finishes it: appends the encrypted header and its length. The pack is named by the
// SHA-256 of all its bytes, computed as it is written.

import { type CryptoKey, seal } from '../format/crypto.js';
import { type BlobType, encodePackHeader, type PackedBlob } from '../format/pack.js';
import type { PackFile, PackFiles } from './pack-files.js';

export interface FinishedPack {
  readonly id: string;
  readonly size: number;
  /** The temp file holding the pack, to be stored and then removed. */
  readonly path: string;
  readonly blobs: readonly PackedBlob[];
}

export class Packer {
  private file: PackFile | undefined;
  private blobs: PackedBlob[] = [];

  constructor(
    readonly type: BlobType,
    private readonly files: PackFiles,
  ) {}

  get size(): number {
    return this.file?.size ?? 0;
  }

  get count(): number {
    return this.blobs.length;
  }

  /** Copies a sealed blob (which may be a view into a buffer about to be reused) into the pack. */
  add(id: string, sealed: Uint8Array, uncompressedLength: number | undefined): void {
    this.file ??= this.files.create();
    const offset = this.file.size;
    this.file.append(sealed);
    this.blobs.push(uncompressedLength === undefined ? { type: this.type, id, offset, length: sealed.length } : { type: this.type, id, offset, length: sealed.length, uncompressedLength });
  }

  /** Ends the pack being filled; the next add starts a new one. */
  async finish(key: CryptoKey): Promise<FinishedPack> {
    const file = this.file;
    const blobs = this.blobs;
    if (!file) throw new Error('no pack to finish');
    this.file = undefined;
    this.blobs = [];
    const header = seal(key, encodePackHeader(blobs));
    const length = Buffer.allocUnsafe(4);
    length.writeUInt32LE(header.length);
    file.append(header);
    file.append(length);
    const written = await file.finish();
    return { ...written, blobs };
  }
}
