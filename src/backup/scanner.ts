// Counts the files and bytes a backup will look at, alongside the backup itself, so progress can
// show a percentage and an ETA. Walks with the same exclude rules; never reads file contents.

import type { ExcludeRules } from '../fs/exclude-rules.js';
import { walk } from '../fs/walk.js';
import { ignoreWarnings } from '../fs/warning.js';

export interface ScanTotals {
  files: number;
  bytes: number;
  finished: boolean;
}

export async function scan(sources: readonly Buffer[], rules: ExcludeRules, totals: ScanTotals, signal?: AbortSignal): Promise<void> {
  for await (const entry of walk(sources, rules, ignoreWarnings)) {
    if (signal?.aborted) return;
    if (entry.st.isFile()) {
      totals.files++;
      totals.bytes += Number(entry.st.size);
    }
  }
  totals.finished = true;
}
