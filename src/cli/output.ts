/** How operator commands print: aligned tables and short lines for people, JSON for programs. */

/** A column of a table: its heading and how to read a row's cell. */
export interface Column<TRow> {
  header: string;
  cell(row: TRow): string;
  /** Right-align (counts). Default left. */
  alignRight?: boolean;
}

/** Rows under upper-case headings, columns padded to their widest cell and two spaces apart. */
export function formatTable<TRow>(columns: readonly Column<TRow>[], rows: readonly TRow[]): string {
  const cells = rows.map((row) => columns.map((column) => column.cell(row)));
  const widths = columns.map((column, i) =>
    Math.max(column.header.length, ...cells.map((line) => (line[i] ?? '').length)),
  );
  const render = (line: readonly string[]) =>
    line
      .map((text, i) => {
        const width = widths[i] ?? 0;
        return columns[i]?.alignRight ? text.padStart(width) : text.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  return [render(columns.map((c) => c.header.toUpperCase())), ...cells.map(render)]
    .map((line) => `${line}\n`)
    .join('');
}

/** Writes `value` as indented JSON (`--json`), or the human text. */
export function print(json: boolean | undefined, value: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : human());
}

/** An ISO instant without milliseconds, `-` when absent: `2025-06-01T10:00:00Z`. */
export function formatInstant(value: Date | string | null | undefined): string {
  if (value === null || value === undefined) return '-';
  const date = typeof value === 'string' ? new Date(value) : value;
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A provider cursor as the provider sent it (never re-formatted), `-` before the first cycle. */
export function formatCursor(cursor: { modified: string; externalId: string } | null): string {
  return cursor === null ? '-' : `${cursor.modified} ${cursor.externalId}`;
}

/** Shortens text to `max` characters with an ellipsis; one line. */
export function clip(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

/** `1 contact` / `2 contacts`. */
export const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`;
