// Where commands write what they have to say: human text on stdout, or one JSON object per line
// with --json; warnings and errors always go to stderr. Quiet mode drops everything but errors.

export interface OutputOptions {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly verbose: number;
}

export class Output {
  constructor(readonly options: OutputOptions) {}

  get json(): boolean {
    return this.options.json;
  }

  /** A line for humans; suppressed with --json and --quiet. */
  info(line: string): void {
    if (!this.options.json && !this.options.quiet) process.stdout.write(line + '\n');
  }

  /** Detail shown only with -v. */
  verbose(line: string, level = 1): void {
    if (this.options.verbose >= level && !this.options.json) process.stdout.write(line + '\n');
  }

  /** A JSON document on its own line (only with --json). */
  emit(value: unknown): void {
    if (this.options.json) process.stdout.write(JSON.stringify(value, jsonReplacer) + '\n');
  }

  /** Data that is the command's result (cat, dump): always written, whatever the mode. */
  raw(data: string | Uint8Array): void {
    process.stdout.write(data);
  }

  /** A problem found (not fatal by itself): always shown, on stderr. */
  error(line: string): void {
    if (this.options.json) process.stderr.write(JSON.stringify({ message_type: 'error', message: line }) + '\n');
    else process.stderr.write(`error: ${line}\n`);
  }

  warn(line: string): void {
    if (this.options.json) process.stderr.write(JSON.stringify({ message_type: 'warning', message: line }) + '\n');
    else process.stderr.write(`warning: ${line}\n`);
  }
}

/** BigInts (inodes, polynomials) print as numbers when exact, else as strings. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
  return value;
}
