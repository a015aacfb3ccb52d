// Image snapshots in the repository: loading one (its tree and block directory), resolving
// SNAPSHOT[:NAME] as users write it, and finding the parent of a new image backup.

import { HoldfastError } from '../errors.js';
import type { Snapshot } from '../format/snapshot.js';
import type { Repository } from '../repository/repository.js';
import { findSnapshot, loadSnapshots, type SnapshotEntry } from '../repository/snapshots.js';
import type { BlockDirectory } from './block-directory.js';
import { decodeBlockDirectory } from './block-directory-codec.js';
import { type ImageEntry, scanImageTree } from './image-tree.js';

export interface ImageSnapshot {
  readonly id: string;
  readonly snapshot: Snapshot;
  readonly image: ImageEntry;
  readonly directory: BlockDirectory;
}

/** The snapshot path of an image: restic shows image backups like stdin backups, as /NAME. */
export function imagePath(name: string): string {
  return '/' + name;
}

export function checkImageName(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new HoldfastError('ERR_INVALID_ARGUMENT', `"${name}" cannot be an image name: it must be a non-empty file name without "/"`);
  }
}

async function loadDirectory(repo: Repository, entry: ImageEntry, what: string): Promise<BlockDirectory> {
  const parts: Buffer[] = [];
  for (const id of entry.directory.content) parts.push(await repo.loadBlob('data', id));
  const dir = decodeBlockDirectory(Buffer.concat(parts), `${what}: block directory`);
  const problems = [
    dir.name !== entry.name && `it names image "${dir.name}"`,
    dir.volumeSize !== entry.size && `its volume size ${dir.volumeSize} is not the image's ${entry.size}`,
    dir.blockCount !== entry.blobCount && `it has ${dir.blockCount} blocks, the image's content ${entry.blobCount}`,
  ].filter((p) => p !== false);
  if (problems.length > 0) throw new HoldfastError('ERR_CORRUPT', `${what}: the block directory does not match the image: ${problems.join('; ')}`);
  return dir;
}

/** The image `name` (or the only image) of a snapshot, with its block directory. */
export async function loadImageSnapshot(repo: Repository, entry: SnapshotEntry, name?: string): Promise<ImageSnapshot> {
  const what = `snapshot ${entry.id.slice(0, 8)}`;
  const images = scanImageTree(await repo.loadBlob('tree', entry.snapshot.tree), `${what}: tree`);
  let image: ImageEntry | undefined;
  if (name !== undefined) image = images.find((i) => i.name === name);
  else if (images.length === 1) image = images[0];
  if (image === undefined) {
    if (images.length === 0) throw new HoldfastError('ERR_NOT_FOUND', `${what} holds no image backup`);
    const names = images.map((i) => i.name).join(', ');
    if (name === undefined) throw new HoldfastError('ERR_INVALID_ARGUMENT', `${what} holds several images (${names}); name one as SNAPSHOT:NAME`);
    throw new HoldfastError('ERR_NOT_FOUND', `${what} holds no image named "${name}" (it holds ${names})`);
  }
  return { id: entry.id, snapshot: entry.snapshot, image, directory: await loadDirectory(repo, image, what) };
}

/** Resolves SNAPSHOT[:NAME]; `latest:NAME` is the newest snapshot of that image (on `host` if given). */
export async function findImageSnapshot(repo: Repository, spec: string, host?: string): Promise<ImageSnapshot> {
  const colon = spec.indexOf(':');
  const id = colon < 0 ? spec : spec.slice(0, colon);
  const name = colon < 0 ? undefined : spec.slice(colon + 1);
  if (name !== undefined) checkImageName(name);
  const filter = { ...(host === undefined ? {} : { hosts: [host] }), ...(name === undefined ? {} : { paths: [imagePath(name)] }) };
  return loadImageSnapshot(repo, await findSnapshot(repo, id, filter), name);
}

/** The newest snapshot of the image `name` from `host`: the parent of its next backup. */
export async function findImageParent(repo: Repository, host: string, name: string): Promise<ImageSnapshot | undefined> {
  const candidates = await loadSnapshots(repo, { hosts: [host], paths: [imagePath(name)] });
  for (const entry of candidates.reverse()) {
    try {
      return await loadImageSnapshot(repo, entry, name);
    } catch (err) {
      // A file backup that happens to have the same path is not an image backup: look further back.
      if (!(err instanceof HoldfastError && err.code === 'ERR_NOT_FOUND')) throw err;
    }
  }
  return undefined;
}
