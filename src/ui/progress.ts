// Progress of long work: a redrawn status bar on a terminal, periodic JSON status lines with
// --json, nothing when quiet or when stderr is not a terminal.

import { formatBytes, formatDuration } from './format.js';

export interface ProgressState {
  /** Units done and total (files, blocks...); total 0 when not known yet. */
  readonly done: number;
  readonly total: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly errors?: number;
  /** What is being worked on, shown on a second line. */
  readonly current?: readonly string[];
  /** Name of the unit counted by done/total. */
  readonly unit?: string;
}

export interface ProgressOptions {
  readonly json: boolean;
  readonly quiet: boolean;
  /** Extra fields for every JSON status line (message_type is set). */
  readonly jsonFields?: (s: ProgressState, elapsedMs: number) => Record<string, unknown>;
}

const BAR_WIDTH = 24;

export class Progress {
  private timer: NodeJS.Timeout | undefined;
  private readonly started = Date.now();
  private linesDrawn = 0;
  private readonly tty: boolean;

  constructor(
    private readonly state: () => ProgressState,
    private readonly options: ProgressOptions,
  ) {
    this.tty = !options.json && !options.quiet && process.stderr.isTTY === true;
    const every = options.json ? 1000 : 250;
    if (this.tty || (options.json && !options.quiet)) {
      this.timer = setInterval(() => this.draw(), every);
      this.timer.unref();
    }
  }

  get elapsedMs(): number {
    return Date.now() - this.started;
  }

  /** Clears the status line so that other output starts on a clean line. */
  clear(): void {
    if (!this.tty || this.linesDrawn === 0) return;
    process.stderr.write(`\x1b[${this.linesDrawn}F\x1b[J`);
    this.linesDrawn = 0;
  }

  /** Prints a line above the status bar (warnings while the bar runs). */
  log(line: string): void {
    this.clear();
    process.stderr.write(line + '\n');
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.clear();
  }

  private draw(): void {
    const s = this.state();
    const elapsed = this.elapsedMs;
    if (this.options.json) {
      const percent = s.bytesTotal > 0 ? Math.min(1, s.bytesDone / s.bytesTotal) : 0;
      const extra = this.options.jsonFields?.(s, elapsed) ?? {};
      process.stdout.write(JSON.stringify({ message_type: 'status', seconds_elapsed: Math.floor(elapsed / 1000), percent_done: percent, ...extra }) + '\n');
      return;
    }
    const columns = process.stderr.columns || 80;
    const fraction = s.bytesTotal > 0 ? Math.min(1, s.bytesDone / s.bytesTotal) : s.total > 0 ? Math.min(1, s.done / s.total) : 0;
    const filled = Math.round(fraction * BAR_WIDTH);
    const bar = '█'.repeat(filled) + '░'.repeat(BAR_WIDTH - filled);
    const rate = elapsed > 0 ? (s.bytesDone * 1000) / elapsed : 0;
    const eta = rate > 0 && s.bytesTotal > s.bytesDone ? ` ETA ${formatDuration(((s.bytesTotal - s.bytesDone) / rate) * 1000)}` : '';
    const unit = s.unit ?? 'files';
    const counts = s.total > 0 ? `${s.done}/${s.total} ${unit}` : `${s.done} ${unit}`;
    const bytes = s.bytesTotal > 0 ? `${formatBytes(s.bytesDone)}/${formatBytes(s.bytesTotal)}` : formatBytes(s.bytesDone);
    const errors = s.errors ? ` ${s.errors} errors` : '';
    const lines = [
      `[${formatDuration(elapsed)}] ${bar} ${(fraction * 100).toFixed(1)}% ${counts} ${bytes} ${formatBytes(rate)}/s${errors}${eta}`,
      ...(s.current ?? []).slice(0, 2).map((c) => `  ${c}`),
    ].map((l) => ([...l].length > columns - 1 ? [...l].slice(0, columns - 2).join('') + '…' : l));
    this.clear();
    process.stderr.write(lines.join('\n') + '\n');
    this.linesDrawn = lines.length;
  }
}
