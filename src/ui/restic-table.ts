// restic's text tables (internal/ui/table): cells may span several lines, columns are as wide as
// their widest line in bytes, and rows can be set apart by blank lines when one spans several.

export interface ResticTableOptions {
  /** Lines after the closing rule, e.g. "3 snapshots". */
  readonly footer?: readonly string[];
  /** Put a blank line between rows (restic does when a snapshot has several paths). */
  readonly blankBetweenRows?: boolean;
}

function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** The table as restic prints it, each line ending in a newline. */
export function renderResticTable(headers: readonly string[], rows: readonly (readonly string[])[], options: ResticTableOptions = {}): string {
  const widths = headers.map((h) => Math.max(...h.split('\n').map(byteLength)));
  for (const row of rows) {
    row.forEach((cell, i) => {
      for (const line of cell.split('\n')) widths[i] = Math.max(widths[i]!, byteLength(line));
    });
  }
  const rule = '-'.repeat(widths.reduce((a, b) => a + b, 0) + 2 * (headers.length - 1));
  const lines = (cells: readonly string[]): string[] => {
    const split = cells.map((c) => c.split('\n'));
    const height = Math.max(1, ...split.map((l) => l.length));
    const out: string[] = [];
    for (let i = 0; i < height; i++) {
      const text = split.map((l, col) => (l[i] ?? '') + ' '.repeat(Math.max(0, widths[col]! - byteLength(l[i] ?? '')))).join('  ');
      out.push(text.replace(/ +$/, ''));
    }
    return out;
  };
  const out = [...lines(headers), rule];
  rows.forEach((row, r) => {
    const rowLines = lines(row);
    if (options.blankBetweenRows && r > 0) rowLines[0] = '\n' + rowLines[0];
    out.push(...rowLines);
  });
  out.push(rule, ...(options.footer ?? []));
  return out.map((l) => l + '\n').join('');
}
