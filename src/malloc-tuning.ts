// Fixes glibc's malloc thresholds for this process, through the optional native addon (native/).
// Left dynamic, they rise to the size of the largest buffer freed so far, after which buffers of
// blob size come from per-thread arenas that keep the memory: a restore of the Linux tree peaks
// 15-30 MiB higher. Not for backups: zstd frees and remakes its compression workspace (0.5-1.3
// MiB) as blob sizes change, and with a fixed threshold each one is a fresh mapping to fault in
// (+0.4 s of system time in a first backup of that tree, and no lower peak). See native/malloc_tuning.c.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Every data blob is at least this big (the chunker's minimum): each gets a mapping of its own. */
const MMAP_THRESHOLD = 512 * 1024;
/** Free memory an arena keeps at its top before giving it back: twice the above, glibc's own ratio. */
const TRIM_THRESHOLD = 2 * MMAP_THRESHOLD;

interface NativeAddon {
  setMmapThreshold(bytes: number): boolean;
  setTrimThreshold(bytes: number): boolean;
}

/** Where the build puts the addon: below the package root (src/ from sources, dist/src/ built). */
export function nativeAddonPath(): string {
  const root = new URL(import.meta.url.endsWith('.ts') ? '../' : '../../', import.meta.url);
  return fileURLToPath(new URL('native/build/Release/holdfast_native.node', root));
}

function loadNativeAddon(): NativeAddon | undefined {
  const path = nativeAddonPath();
  if (!existsSync(path)) return undefined;
  try {
    return createRequire(import.meta.url)(path) as NativeAddon;
  } catch {
    // Built for another Node or system: the process runs with the allocator's defaults.
    return undefined;
  }
}

/** Settings the user gave the allocator through its own environment variables win. */
function setByEnvironment(env: NodeJS.ProcessEnv): boolean {
  return env.MALLOC_MMAP_THRESHOLD_ !== undefined || env.MALLOC_TRIM_THRESHOLD_ !== undefined || /glibc\.malloc\./.test(env.GLIBC_TUNABLES ?? '');
}

/**
 * Sets the thresholds (process-wide) for a command that reads and writes many blob-sized buffers
 * in several threads; best called before those threads start.
 * Returns whether they were set: false without the addon, off glibc, or when the environment sets them.
 */
export function tuneMalloc(env: NodeJS.ProcessEnv = process.env): boolean {
  if (setByEnvironment(env)) return false;
  const addon = loadNativeAddon();
  if (!addon) return false;
  return addon.setMmapThreshold(MMAP_THRESHOLD) && addon.setTrimThreshold(TRIM_THRESHOLD);
}
