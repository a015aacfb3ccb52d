// The agent's plain-text log: one line per event, each starting with the local time and offset.
// Appended line by line, so a log rotated by renaming simply continues in a new file.

import { appendFileSync } from 'node:fs';
import { localIso } from './local-time.js';

export type LogSink = (line: string) => void;

export class AgentLog {
  constructor(
    private readonly file: string | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  readonly write: LogSink = (text: string): void => {
    // One event, one line: anything multi-line (a hook's message) is folded.
    const line = `${localIso(this.now())} ${text.replace(/\r?\n/g, ' | ')}\n`;
    if (this.file === undefined) {
      process.stdout.write(line);
      return;
    }
    try {
      appendFileSync(this.file, line);
    } catch {
      // A full disk must not stop the backups the log is about; stderr reaches the journal.
      process.stderr.write(line);
    }
  };
}
