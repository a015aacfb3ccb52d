// Collects sealed blobs of one type into a pack and, when asked, finishes it: appends the
// encrypted header and its length, and names the pack by the SHA-256 of all its bytes.

import { type CryptoKey, seal } from '../format/crypto.js';
import { hashId } from '../format/id.js';
import { type BlobType, encodePackHeader, type PackedBlob } from '../format/pack.js';

export interface FinishedPack {
  readonly id: string;
  readonly bytes: Buffer;
  readonly blobs: readonly PackedBlob[];
}

export class Packer {
  private parts: Buffer[] = [];
  private blobs: PackedBlob[] = [];
  private bytes = 0;

  constructor(readonly type: BlobType) {}

  get size(): number {
    return this.bytes;
  }

  get count(): number {
    return this.blobs.length;
  }

  add(id: string, sealed: Buffer, uncompressedLength: number | undefined): void {
    this.blobs.push({ type: this.type, id, offset: this.bytes, length: sealed.length, uncompressedLength });
    this.parts.push(sealed);
    this.bytes += sealed.length;
  }

  finish(key: CryptoKey): FinishedPack {
    const header = seal(key, encodePackHeader(this.blobs));
    const length = Buffer.allocUnsafe(4);
    length.writeUInt32LE(header.length);
    const bytes = Buffer.concat([...this.parts, header, length]);
    const finished = { id: hashId(bytes), bytes, blobs: this.blobs };
    this.parts = [];
    this.blobs = [];
    this.bytes = 0;
    return finished;
  }
}
