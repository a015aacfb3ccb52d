// The restore's directories, made while the walk goes on (0700 until their metadata comes last),
// and what each held already: in one made or found empty nothing needs checking; --delete prunes.

import { lstat, mkdir, readdir, rm, unlink } from 'node:fs/promises';
import { isSystemError, messageOf } from '../errors.js';
import { nameText } from '../fs/name-text.js';
import { joinPath } from '../fs/paths.js';
import { displayLocation, type PlannedDir } from './plan.js';
import type { RestoreSelection } from './selection.js';

export interface DirState {
  /** Nothing exists below it yet: children are created without looking. */
  readonly fresh: boolean;
  /** Made by this restore: new files in it belong to us until chowned. */
  readonly created: boolean;
}

export interface TargetDirOptions {
  readonly dryRun: boolean;
  readonly delete: boolean;
  readonly selection: RestoreSelection;
  readonly onError: (location: string, message: string) => void;
  readonly onDeleted: (location: string) => void;
}

/** Map key of a path: its bytes as a string. */
function pathKey(path: Buffer): string {
  return path.toString('latin1');
}

/**
 * A directory's progress. Before it is made, what waits for it is listed here: a restore may hold
 * thousands of directories not made yet, so they cost a list entry each, not a chain of promises.
 */
interface Slot {
  made: boolean;
  state: DirState | undefined;
  /** Subdirectories added before it was made, started once it is. */
  children: PlannedDir[] | undefined;
  /** Told once it is made (or has failed). */
  waiters: ((state: DirState | undefined) => void)[] | undefined;
}

export class TargetDirs {
  /** One slot per directory, made by whichever comes first: the directory or one of its children. */
  private readonly slots = new Map<PlannedDir, Slot>();
  /** Directories added and not made yet. */
  private pending = 0;
  private whenSettled: (() => void)[] = [];

  constructor(
    private readonly options: TargetDirOptions,
    /** Whether the restore created the target directory itself. */
    private readonly targetCreated: boolean,
  ) {}

  private slot(dir: PlannedDir): Slot {
    let slot = this.slots.get(dir);
    if (!slot) {
      slot = { made: false, state: undefined, children: undefined, waiters: undefined };
      this.slots.set(dir, slot);
    }
    return slot;
  }

  /** Starts making a directory once its parent is there (the target first). */
  add(dir: PlannedDir): void {
    this.pending++;
    if (!dir.parent) return this.start(dir, undefined);
    const parent = this.slot(dir.parent);
    if (parent.made) this.start(dir, parent.state);
    else (parent.children ??= []).push(dir);
  }

  private start(dir: PlannedDir, parentState: DirState | undefined): void {
    void (dir.parent ? this.prepareDir(dir, parentState) : this.prepareTarget(dir))
      .catch((err: unknown) => {
        this.options.onError(dir.location, `cannot create directory: ${messageOf(err)}`);
        return undefined;
      })
      .then((state) => this.made(dir, state));
  }

  private made(dir: PlannedDir, state: DirState | undefined): void {
    const slot = this.slot(dir);
    slot.made = true;
    slot.state = state;
    const { children, waiters } = slot;
    slot.children = undefined;
    slot.waiters = undefined;
    for (const child of children ?? []) this.start(child, state);
    for (const waiter of waiters ?? []) waiter(state);
    if (--this.pending > 0) return;
    const settled = this.whenSettled;
    this.whenSettled = [];
    for (const resolve of settled) resolve();
  }

  /** Resolves when every directory added so far is made (or has failed). */
  async settled(): Promise<void> {
    if (this.pending > 0) await new Promise<void>((resolve) => this.whenSettled.push(resolve));
  }

  /** The state of a directory once made; undefined before, or when it could not be made. */
  stateOf(dir: PlannedDir): DirState | undefined {
    return this.slots.get(dir)?.state;
  }

  /** Calls `then` with the state of a directory once it is made, or undefined when it could not be: at once if that is known. */
  whenMade(dir: PlannedDir, then: (state: DirState | undefined) => void): void {
    const slot = this.slot(dir);
    if (slot.made) then(slot.state);
    else (slot.waiters ??= []).push(then);
  }

  /** The state of a directory once it is made (or has failed). */
  ready(dir: PlannedDir): Promise<DirState | undefined> {
    return new Promise((resolve) => this.whenMade(dir, resolve));
  }

  private async prepareTarget(dir: PlannedDir): Promise<DirState> {
    return this.targetCreated ? { fresh: true, created: true } : this.existing(dir);
  }

  private async prepareDir(dir: PlannedDir, parent: DirState | undefined): Promise<DirState | undefined> {
    // The parent failed and said so: its children are reported where they are needed.
    if (!parent) return undefined;
    if (!parent.fresh) {
      let st;
      try {
        st = await lstat(dir.path);
      } catch (err) {
        if (!isSystemError(err, 'ENOENT')) throw err;
      }
      if (st?.isDirectory()) return this.existing(dir);
      // Anything else in the way (a file, a symlink that must not be followed) gives way.
      if (st && !this.options.dryRun) await unlink(dir.path);
    }
    if (!this.options.dryRun) await mkdir(dir.path, 0o700);
    return { fresh: true, created: true };
  }

  /** A directory that was there already: empty counts as fresh; with --delete, extras go. */
  private async existing(dir: PlannedDir): Promise<DirState> {
    const entries = await readdir(dir.path, { encoding: 'buffer' });
    if (entries.length === 0) return { fresh: true, created: false };
    if (this.options.delete && dir.names) await this.deleteExtras(dir, dir.names, entries);
    return { fresh: false, created: false };
  }

  private async deleteExtras(dir: PlannedDir, names: readonly Buffer[], entries: Buffer[]): Promise<void> {
    const keep = new Set(names.map(pathKey));
    for (const name of entries) {
      if (keep.has(pathKey(name))) continue;
      const location = displayLocation(dir.location, name);
      // Only what the selection would have restored is deleted, as restic does.
      if (!this.options.selection.select([...dir.comps, nameText(name)], false).selected) continue;
      try {
        if (!this.options.dryRun) await rm(joinPath(dir.path, name), { recursive: true, force: true });
        this.options.onDeleted(location);
      } catch (err) {
        this.options.onError(location, `cannot delete: ${messageOf(err)}`);
      }
    }
  }
}
