// Progress of work done in phases (prune, repair, copy): each phase counts its own units, shown
// as a status bar on a terminal and closed with restic's "[m:ss] 100.00%  n / n unit" line.

import type { Output } from './output.js';
import { Progress } from './progress.js';

function clock(ms: number): string {
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

export class PhaseProgress {
  private bar: Progress | undefined;
  private unit = '';
  private done = 0;
  private total = 0;
  private bytes = 0;
  private started = 0;

  constructor(private readonly out: Output) {}

  /** Starts counting `total` units (0: not known), ending the phase before. */
  start(unit: string, total: number): void {
    this.end();
    this.unit = unit;
    this.done = 0;
    this.total = total;
    this.bytes = 0;
    this.started = Date.now();
    this.bar = new Progress(() => ({ done: this.done, total: this.total, bytesDone: this.bytes, bytesTotal: 0, unit: this.unit }), {
      json: this.out.json,
      quiet: this.out.options.quiet,
      jsonFields: (s) => ({ unit: this.unit, done: s.done, total: s.total, bytes_done: s.bytesDone }),
    });
  }

  update(done: number, total = this.total, bytes = this.bytes): void {
    this.done = done;
    this.total = total;
    this.bytes = bytes;
  }

  /** Ends the phase with its summary line (nothing when no phase runs). */
  end(): void {
    if (!this.bar) return;
    this.bar.stop();
    this.bar = undefined;
    const percent = this.total > 0 ? (100 * this.done) / this.total : 100;
    this.out.info(`[${clock(Date.now() - this.started)}] ${percent.toFixed(2)}%  ${this.done} / ${this.total} ${this.unit}`);
  }
}
