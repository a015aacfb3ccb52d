// Plain text tables like restic's: a header, a rule, left-aligned columns (right-aligned numbers).

export interface Column {
  readonly title: string;
  readonly align?: 'left' | 'right';
}

/** Display width of a string: counts code points, which is right for everything but wide CJK. */
function width(s: string): number {
  return [...s].length;
}

export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[], footer?: string): string {
  const widths = columns.map((c, i) => Math.max(width(c.title), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => {
        const pad = ' '.repeat(widths[i]! - width(cell));
        return columns[i]?.align === 'right' ? pad + cell : cell + pad;
      })
      .join('  ')
      .trimEnd();
  const rule = '-'.repeat(widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1));
  const out = [line(columns.map((c) => c.title)), rule, ...rows.map(line), rule];
  if (footer) out.push(footer);
  return out.join('\n');
}
