// A repository opened with a key: reads and writes encrypted files, loads the master index, and
// saves blobs through the crypto workers and packers, uploading finished packs in the background.

import type { Backend, FileType } from '../backend/backend.js';
import { checkPolynomial } from '../chunker/polynomial.js';
import { HoldfastError } from '../errors.js';
import { compressionLevels, type CompressionMode, compressUnpacked, compressUnpackedText, decompressBlob, decompressUnpacked, loadZstd, type Zstd } from '../format/compression.js';
import { decodeConfig, type RepoConfig } from '../format/config.js';
import { type CryptoKey, open, seal } from '../format/crypto.js';
import { hashId } from '../format/id.js';
import { blobCount, decodeIndexFile, type IndexFilePacks, indexFileText } from '../format/index-file.js';
import { type BlobType, checkBlobsFitHeader, decodePackHeader, EAGER_TRAILER_READ, type PackedBlob, parsePackTrailer, TRAILER_SIZE } from '../format/pack.js';
import { forEachLimited } from '../concurrency.js';
import { CryptoPool, type SealedView } from './crypto-pool.js';
import { readIndexCache, writeIndexCache } from './index-cache.js';
import { blobKeys, keyCount, MasterIndex } from './master-index.js';
import { PackFiles } from './pack-files.js';
import { type FinishedPack, Packer } from './packer.js';

export type UnpackedType = 'index' | 'snapshots' | 'locks';

export interface RepositoryOptions {
  /** Compression of data blobs; trees and unpacked files are always compressed in version 2. */
  readonly compression?: CompressionMode;
  /** Target pack size in bytes (restic: 16 MiB, 4 to 128 MiB). */
  readonly packSize?: number;
  /** Packs uploaded at the same time. */
  readonly uploadConcurrency?: number;
  /** Worker threads for sealing and opening blobs. */
  readonly workers?: number;
  /** Seal and count blobs but store nothing (backup --dry-run). */
  readonly dryRun?: boolean;
  /** Where the master index is cached locally (see index-cache.ts); none when undefined. */
  readonly indexCacheFile?: string | undefined;
  /** Blobs in stored packs without an index file at which one is written in the background. */
  readonly earlyIndexBlobs?: number;
}

export interface SaveResult {
  readonly id: string;
  /** True when the repository already had the blob: nothing was stored. */
  readonly known: boolean;
  /** Bytes added to packs for this blob (0 when known). */
  readonly storedBytes: number;
}

export interface RepositoryStats {
  packsWritten: number;
  packBytesWritten: number;
  blobsSaved: number;
  blobBytesSaved: number;
}

export const DEFAULT_PACK_SIZE = 16 * 1024 * 1024;
/** Blobs per index file: keeps any one index file, and its memory while loading, bounded. */
export const INDEX_FILE_MAX_BLOBS = 50_000;
/**
 * Blobs in stored packs without an index file at which one is written in the background. Written
 * only at the end, the index of a first backup of the Linux tree (84,000 blobs) took 0.4 s after
 * everything else was done and set the run's peak memory; written as packs are stored, what is
 * left for the end is small.
 */
const EARLY_INDEX_BLOBS = 16_384;

export class Repository {
  readonly index = new MasterIndex();
  readonly stats: RepositoryStats = { packsWritten: 0, packBytesWritten: 0, blobsSaved: 0, blobBytesSaved: 0 };
  private pool: CryptoPool | undefined;
  private readonly packFiles: PackFiles;
  private readonly packers: Record<BlobType, Packer>;
  /** Blobs sealed into a packer or an upload that has not finished: already "saved" for dedup. */
  private readonly inFlight = new Set<string>();
  private readonly uploads = new Set<Promise<void>>();
  /**
   * Packs uploaded but not yet described by an index file, with their blobs' keys. The index file
   * is written from the master index's locations of those blobs: a list of their own would hold
   * an object per blob until the end of a backup.
   */
  private unindexed: { id: string; keys: Buffer }[] = [];
  private unindexedBlobs = 0;
  /** The index write under way: one at a time, each takes what is unindexed when it starts. */
  private indexWriting: Promise<void> | undefined;
  /** Index files written in the background since the last flush, which reports them. */
  private earlyIndexFiles: string[] = [];
  /**
   * The index files the master index holds: what a local copy of it is made of. Undefined before
   * the first load, and for good after a second one (which adds to an index that may have
   * changed meanwhile, as in a prune).
   */
  private indexFiles: Set<string> | undefined;
  private indexLoads = 0;
  /** The local copy holds what the master index holds. */
  private indexCacheCurrent = false;
  private uploadError: Error | undefined;
  private readonly packSize: number;
  private readonly dataLevel: number;
  private readonly uploadConcurrency: number;

  constructor(
    readonly backend: Backend,
    readonly config: RepoConfig,
    readonly key: CryptoKey,
    readonly keyId: string,
    readonly zstd: Zstd,
    private readonly options: RepositoryOptions = {},
  ) {
    checkPolynomial(config.chunkerPolynomial);
    this.packSize = options.packSize ?? DEFAULT_PACK_SIZE;
    const mode = options.compression ?? 'auto';
    this.dataLevel = config.version < 2 || mode === 'off' ? 0 : compressionLevels[mode];
    this.uploadConcurrency = options.uploadConcurrency ?? 2;
    this.packFiles = new PackFiles(backend.tempDir);
    this.packers = { data: new Packer('data', this.packFiles), tree: new Packer('tree', this.packFiles) };
  }

  /** Decrypts the config with a master key and builds the repository object. */
  static async fromKey(backend: Backend, key: CryptoKey, keyId: string, options: RepositoryOptions = {}): Promise<Repository> {
    const sealed = await backend.read({ type: 'config' });
    let plain: Buffer;
    try {
      plain = open(key, sealed);
    } catch (err) {
      throw new HoldfastError('ERR_CORRUPT', `config in ${backend.location} cannot be decrypted with the master key: ${(err as Error).message}`);
    }
    return new Repository(backend, decodeConfig(plain), key, keyId, await loadZstd(), options);
  }

  get version(): 1 | 2 {
    return this.config.version;
  }

  /** Level for trees and unpacked files: restic always compresses them in version 2. */
  private get metadataLevel(): number {
    return this.config.version < 2 ? 0 : compressionLevels.auto;
  }

  private crypto(): CryptoPool {
    this.pool ??= new CryptoPool(this.key, this.options.workers);
    return this.pool;
  }

  // ---- unpacked files: index, snapshots, locks ----

  /** Reads, authenticates and decompresses an index, snapshot or lock file; checks its name. */
  async loadUnpacked(type: UnpackedType, id: string): Promise<Buffer> {
    const data = await this.backend.read({ type, name: id });
    if (hashId(data) !== id) {
      throw new HoldfastError('ERR_CORRUPT', `${type}/${id}: content does not match its name (file is damaged)`);
    }
    let plain: Buffer;
    try {
      plain = open(this.key, data);
    } catch (err) {
      throw new HoldfastError('ERR_CORRUPT', `${type}/${id}: ${(err as Error).message}`);
    }
    return decompressUnpacked(this.zstd, plain);
  }

  /** Encrypts and stores a JSON document; returns its id (the hash of the stored bytes). */
  async saveUnpacked(type: UnpackedType, json: Buffer): Promise<string> {
    return this.saveSealed(type, compressUnpacked(this.zstd, json, this.config.version, this.metadataLevel));
  }

  /**
   * Writes an index file. Its text is made and compressed a pack at a time: the index of a big
   * backup is written at its end, when memory is fullest, and would otherwise be there as text,
   * bytes and compression buffer at once (tens of megabytes for the Linux tree).
   */
  async saveIndexFile(index: IndexFilePacks): Promise<string> {
    return this.saveSealed('index', compressUnpackedText(this.zstd, () => indexFileText(index), this.config.version, this.metadataLevel));
  }

  private async saveSealed(type: UnpackedType, plaintext: Buffer): Promise<string> {
    const data = seal(this.key, plaintext);
    const id = hashId(data);
    await this.backend.write({ type, name: id }, data);
    return id;
  }

  async *list(type: FileType): AsyncIterable<{ name: string; size: number }> {
    yield* this.backend.list(type);
  }

  /** Resolves a unique id prefix among the files of a type. */
  async resolvePrefix(type: FileType, prefix: string): Promise<string> {
    const matches: string[] = [];
    for await (const f of this.backend.list(type)) if (f.name.startsWith(prefix)) matches.push(f.name);
    if (matches.length === 1) return matches[0]!;
    if (matches.length === 0) throw new HoldfastError('ERR_NOT_FOUND', `no ${type} file matches "${prefix}"`);
    throw new HoldfastError('ERR_INVALID_ARGUMENT', `"${prefix}" is ambiguous: ${matches.length} ${type} files match`);
  }

  // ---- index ----

  /**
   * Loads every index file into the master index: from the local copy when there is one made of
   * index files that all still exist, then the files added since. Returns the ids of all files.
   */
  async loadIndex(onFile?: (id: string) => void): Promise<string[]> {
    const ids: string[] = [];
    for await (const f of this.backend.list('index')) ids.push(f.name);
    const loaded = new Set<string>();
    const cacheFile = this.options.indexCacheFile;
    const fresh = this.indexLoads++ === 0 && this.index.size === 0;
    if (cacheFile && fresh) {
      const cached = await readIndexCache(cacheFile, this.key);
      const present = new Set(ids);
      if (cached && [...cached.indexFiles].every((id) => present.has(id)) && this.fillIndex(cached.table)) {
        for (const id of cached.indexFiles) loaded.add(id);
      }
    }
    const toRead = ids.filter((id) => !loaded.has(id));
    await forEachLimited(toRead, 4, async (id) => {
      const doc = decodeIndexFile(await this.loadUnpacked('index', id));
      this.index.reserve(this.index.size + blobCount(doc));
      for (const p of doc.packs) this.index.addPack(p.id, p.blobs);
      loaded.add(id);
      onFile?.(id);
    });
    this.indexFiles = fresh ? loaded : undefined;
    this.indexCacheCurrent = toRead.length === 0;
    await this.saveIndexCache();
    return ids;
  }

  private fillIndex(table: Buffer): boolean {
    try {
      this.index.fillFrom(table);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Keeps a local copy of the master index when it holds exactly the loaded and written index
   * files (nothing stored but not yet indexed). A copy that cannot be written is no error.
   */
  async saveIndexCache(): Promise<void> {
    const cacheFile = this.options.indexCacheFile;
    if (!cacheFile || !this.indexFiles || this.indexCacheCurrent || this.unindexed.length > 0 || this.options.dryRun) return;
    this.indexCacheCurrent = await writeIndexCache(cacheFile, this.key, this.index, this.indexFiles).catch(() => false);
  }

  // ---- blobs ----

  /** Reads one blob, verifying its MAC and its plaintext hash; tries other copies if one is damaged. */
  async loadBlob(type: BlobType, id: string): Promise<Buffer> {
    const locations = this.index.lookupAll(type, id);
    if (locations.length === 0) throw new HoldfastError('ERR_NOT_FOUND', `${type} blob ${id} is not in the index`);
    let lastError: unknown;
    for (const loc of locations) {
      try {
        const stored = await this.backend.read({ type: 'data', name: loc.packId }, { offset: loc.offset, length: loc.length });
        return await this.crypto().open(stored, loc.uncompressedLength, id);
      } catch (err) {
        lastError = err;
      }
    }
    const message = lastError instanceof Error ? lastError.message : String(lastError);
    throw new HoldfastError('ERR_CORRUPT', `cannot load ${type} blob ${id} from pack ${locations[0]!.packId}: ${message}`);
  }

  /**
   * Decrypts, decompresses and verifies a small blob on this thread: for trees, where a round
   * trip to a worker costs more than the work itself.
   */
  openBlobHere(stored: Uint8Array, uncompressedLength: number | undefined, id: string): Buffer {
    let plain = open(this.key, stored);
    if (uncompressedLength !== undefined) plain = decompressBlob(this.zstd, plain, uncompressedLength);
    if (hashId(plain) !== id) throw new HoldfastError('ERR_CORRUPT', `blob ${id}: content does not match its id`);
    return plain;
  }

  /**
   * Verifies, on a worker, the blobs in a piece of a pack read into the first `length` bytes of
   * `piece` (offsets within it): their MACs, decompression and plaintext hashes. The caller gives
   * `piece` up; it comes back with the problems found, to be read into again.
   */
  verifyBlobs(piece: ArrayBuffer, length: number, blobs: readonly PackedBlob[]): Promise<{ problems: string[]; piece: ArrayBuffer }> {
    const jobs = blobs.map((b) => ({ id: b.id, offset: b.offset, length: b.length, uncompressedLength: b.uncompressedLength }));
    return this.crypto().verifyBlobs(piece, length, jobs);
  }

  /** Decrypts a blob already read from a pack (restore reads many blobs of a pack at once). */
  openBlob(stored: Uint8Array, uncompressedLength: number | undefined, id: string): Promise<Buffer> {
    return this.crypto().open(stored, uncompressedLength, id);
  }

  /**
   * Reads and decrypts a pack's header from the end of the pack file: the blobs it says it holds.
   * Reads the last bytes once, and the rest of the header only when it is bigger than that.
   */
  async readPackHeader(packId: string, size?: number): Promise<PackedBlob[]> {
    const h = { type: 'data', name: packId } as const;
    const fileSize = size ?? (await this.backend.stat(h)).size;
    const tailLength = Math.min(fileSize, EAGER_TRAILER_READ);
    const tail = await this.backend.read(h, { offset: fileSize - tailLength, length: tailLength });
    const { headerOffset, headerLength } = parsePackTrailer(tail, fileSize);
    const inTail = tailLength - TRAILER_SIZE - headerLength;
    const sealedHeader =
      inTail >= 0
        ? tail.subarray(inTail, tailLength - TRAILER_SIZE)
        : await this.backend.read(h, { offset: headerOffset, length: headerLength });
    let plain: Buffer;
    try {
      plain = open(this.key, sealedHeader);
    } catch (err) {
      throw new HoldfastError('ERR_CORRUPT', `pack ${packId}: header ${(err as Error).message}`);
    }
    const blobs = decodePackHeader(plain, this.config.version);
    checkBlobsFitHeader(blobs, headerOffset);
    return blobs;
  }

  /**
   * Finds packs that no index file describes (left by a backup that was killed after uploading
   * them) and adds their blobs from the packs' own headers, so this run does not upload them
   * again. They are described in the index files this session writes.
   */
  async adoptUnindexedPacks(): Promise<{ packs: number; bytes: number }> {
    const orphans: { name: string; size: number }[] = [];
    for await (const f of this.backend.list('data')) if (!this.index.hasPack(f.name)) orphans.push(f);
    let packs = 0;
    let bytes = 0;
    await forEachLimited(orphans, 8, async (f) => {
      let blobs: PackedBlob[];
      try {
        blobs = await this.readPackHeader(f.name, f.size);
      } catch {
        // A damaged orphan is simply not reused; check reports it and prune removes it.
        return;
      }
      if (this.index.addPack(f.name, blobs)) {
        this.addUnindexed({ id: f.name, keys: blobKeys(blobs) });
        packs++;
        bytes += f.size;
      }
    });
    return { packs, bytes };
  }

  /**
   * Resolves when another blob may be saved: the crypto workers have room and the pack uploads
   * keep up; undefined when that is so already. Producers wait for it before each saveBlob to
   * bound memory.
   */
  ready(): Promise<void> | undefined {
    // Most calls find room everywhere: no promise is made for them (one per blob otherwise).
    if (this.uploads.size < this.uploadConcurrency && this.packFiles.hasRoom && (this.pool?.hasRoom ?? true)) return undefined;
    return this.waitForRoom();
  }

  private async waitForRoom(): Promise<void> {
    while (this.uploads.size >= this.uploadConcurrency) await Promise.race(this.uploads);
    await this.packFiles.ready();
    // Workers are started by the first blob that needs them, not by waiting.
    await this.pool?.ready();
  }

  /**
   * Hashes data in a worker without compressing it, returning the bytes with their id: for
   * callers that store only what is new (image blocks) and need the id before deciding.
   */
  async hash(data: Uint8Array): Promise<{ id: string; data: Buffer }> {
    const id = await this.crypto().hash(data);
    return { id, data: Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength) };
  }

  hasBlob(type: BlobType, id: string): boolean {
    return this.index.has(type, id) || this.inFlight.has(type + id);
  }

  /**
   * Stores a blob unless the repository already has it. `data` is copied before this returns,
   * so the caller may reuse its buffer at once. Resolves once the blob is in a pack; the pack is
   * uploaded in the background and `flush()` waits for it. Await `ready()` first to bound memory.
   * `storeDuplicate` stores it even when the index has it (prune moves blobs out of packs it is
   * about to delete); only a copy in a pack not yet stored counts then.
   */
  saveBlob(type: BlobType, data: Uint8Array, knownId?: string, storeDuplicate = false): Promise<SaveResult> {
    if (this.uploadError) return Promise.reject(this.uploadError);
    if (knownId !== undefined && this.isSaved(type, knownId, storeDuplicate)) return Promise.resolve({ id: knownId, known: true, storedBytes: 0 });
    const level = type === 'tree' ? this.metadataLevel : this.dataLevel;
    return this.crypto().seal(data, level, knownId, (view) => this.addSealed(type, view, storeDuplicate));
  }

  /**
   * Stores a source file smaller than a chunk as one data blob, read on a crypto worker: resolves
   * with the bytes read and the blob's result (none for an empty file), or 'grown' when the file
   * no longer fits `expected` (the caller reads it in chunks then). A file that cannot be read
   * rejects with its own error, not a HoldfastError. Await `ready()` first, as for saveBlob.
   */
  saveSmallFile(path: Buffer, expected: number): Promise<{ read: number; saved: SaveResult | undefined } | 'grown'> {
    if (this.uploadError) return Promise.reject(this.uploadError);
    return this.crypto().sealFile(path, expected, this.dataLevel, (view) => this.addSealed('data', view, false));
  }

  private isSaved(type: BlobType, id: string, storeDuplicate: boolean): boolean {
    return storeDuplicate ? this.inFlight.has(type + id) : this.hasBlob(type, id);
  }

  /**
   * Stores a blob that is already sealed with this repository's key, as it is (prune moves verified
   * blobs to new packs without compressing and encrypting them again). `sealed` is copied.
   */
  saveSealedBlob(type: BlobType, id: string, sealed: Uint8Array, uncompressedLength: number | undefined, storeDuplicate = false): SaveResult {
    if (this.uploadError) throw this.uploadError;
    return this.addSealed(type, { id, sealed: Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength), uncompressedLength }, storeDuplicate);
  }

  /** Runs as each sealed blob comes back, while its bytes are valid: dedup, then into the pack. */
  private addSealed(type: BlobType, { id, sealed, uncompressedLength }: SealedView, storeDuplicate: boolean): SaveResult {
    if (this.isSaved(type, id, storeDuplicate)) return { id, known: true, storedBytes: 0 };
    this.inFlight.add(type + id);
    this.stats.blobsSaved++;
    this.stats.blobBytesSaved += sealed.length;
    if (!this.options.dryRun) {
      const packer = this.packers[type];
      packer.add(id, sealed, uncompressedLength);
      if (packer.size >= this.packSize) this.finishPack(type);
    }
    return { id, known: false, storedBytes: sealed.length };
  }

  /** Finishes the pack being filled and stores it in the background (tracked in `uploads`). */
  private finishPack(type: BlobType): void {
    const packer = this.packers[type];
    if (packer.count === 0) return;
    const upload = this.store(packer.finish(this.key)).finally(() => this.uploads.delete(upload));
    this.uploads.add(upload);
  }

  private async store(finishing: Promise<FinishedPack>): Promise<void> {
    let pack: FinishedPack;
    try {
      pack = await finishing;
      await this.backend.writeFile({ type: 'data', name: pack.id }, pack.path);
    } catch (err) {
      this.uploadError ??= err as Error;
      return;
    }
    this.index.addPack(pack.id, pack.blobs);
    this.addUnindexed({ id: pack.id, keys: blobKeys(pack.blobs) });
    for (const b of pack.blobs) this.inFlight.delete(b.type + b.id);
    this.stats.packsWritten++;
    this.stats.packBytesWritten += pack.size;
    if (this.unindexedBlobs >= (this.options.earlyIndexBlobs ?? EARLY_INDEX_BLOBS) && !this.indexWriting) {
      // A failure leaves the packs unindexed: the next write, at the latest flush(), takes them.
      this.chainIndexWrite(this.earlyIndexFiles).catch(() => undefined);
    }
  }

  private addUnindexed(pack: { id: string; keys: Buffer }): void {
    this.unindexed.push(pack);
    this.unindexedBlobs += keyCount(pack.keys);
  }

  /** Waits for every pack upload started so far. */
  async waitForUploads(): Promise<void> {
    while (this.uploads.size > 0) await Promise.all([...this.uploads]);
    if (this.uploadError) throw this.uploadError;
  }

  /**
   * Makes everything saved so far durable: finishes partial packs, waits for uploads, writes the
   * index files describing them. After this resolves, a snapshot may reference the blobs.
   */
  async flush(): Promise<string[]> {
    this.finishPack('data');
    this.finishPack('tree');
    await this.waitForUploads();
    const written = await this.writeIndex();
    const early = this.earlyIndexFiles;
    this.earlyIndexFiles = [];
    return [...early, ...written];
  }

  /**
   * Writes index files for the packs uploaded and not yet in one (an index checkpoint); after an
   * index write already under way.
   */
  async writeIndex(): Promise<string[]> {
    const ids: string[] = [];
    await this.chainIndexWrite(ids);
    return ids;
  }

  /**
   * Runs an index write after the one under way, adding each file's id to `ids` as it is stored:
   * a write that fails part way still reports the files it made, and a flush that comes after a
   * background write finds that write's files recorded before its own begins.
   */
  private async chainIndexWrite(ids: string[]): Promise<void> {
    const previous = this.indexWriting;
    const writing = (async () => {
      await previous?.catch(() => undefined);
      await this.writeIndexFiles(ids);
    })();
    this.indexWriting = writing;
    try {
      await writing;
    } finally {
      if (this.indexWriting === writing) this.indexWriting = undefined;
    }
  }

  private async writeIndexFiles(ids: string[]): Promise<void> {
    while (this.unindexed.length > 0) {
      const batch: { id: string; keys: Buffer }[] = [];
      let blobs = 0;
      while (this.unindexed.length > 0 && (batch.length === 0 || blobs + keyCount(this.unindexed[0]!.keys) <= INDEX_FILE_MAX_BLOBS)) {
        const p = this.unindexed.shift()!;
        batch.push(p);
        blobs += keyCount(p.keys);
      }
      this.unindexedBlobs -= blobs;
      const index = this.index;
      const packs = {
        *[Symbol.iterator]() {
          for (const p of batch) yield { id: p.id, blobs: index.blobsInPack(p.id, p.keys) };
        },
      };
      try {
        const id = await this.saveIndexFile({ packs });
        ids.push(id);
        this.indexFiles?.add(id);
        this.indexCacheCurrent = false;
      } catch (err) {
        this.unindexed.unshift(...batch);
        this.unindexedBlobs += blobs;
        throw err;
      }
    }
  }

  /** Packs uploaded but not yet described by an index file. */
  get unindexedPackCount(): number {
    return this.unindexed.length;
  }

  async close(): Promise<void> {
    await this.pool?.close();
    this.pool = undefined;
    await this.packFiles.close();
    await this.backend.close();
  }
}
