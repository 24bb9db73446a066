import { once } from 'node:events';
import stringWidth from 'string-width';

/** How operator commands print: aligned tables and short lines for people, JSON for programs. */

/** A column of a table: its heading and how to read a row's cell. */
export interface Column<TRow> {
  header: string;
  cell(row: TRow): string;
  /** Right-align (counts). Default left. */
  alignRight?: boolean;
}

/**
 * Rows under upper-case headings, columns padded to their widest cell and two spaces apart. Widths are terminal
 * columns, not UTF-16 units: a CJK character or an emoji takes two, a combining accent none.
 */
export function formatTable<TRow>(columns: readonly Column<TRow>[], rows: readonly TRow[]): string {
  const cells = rows.map((row) => columns.map((column) => showControls(column.cell(row))));
  const widths = columns.map((column, i) =>
    Math.max(stringWidth(column.header), ...cells.map((line) => stringWidth(line[i] ?? ''))),
  );
  const render = (line: readonly string[]) =>
    line
      .map((text, i) => {
        const padding = ' '.repeat(Math.max(0, (widths[i] ?? 0) - stringWidth(text)));
        return columns[i]?.alignRight ? padding + text : text + padding;
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

/**
 * C0 controls, DEL and C1 controls. Cells and messages come from contacts, CRMs and the admin API: written raw,
 * `ESC ] 0 ; … BEL` retitles the terminal, `ESC [ 2 J` clears it, U+009B (CSI) starts such a sequence on its own.
 */
const CONTROL_CHARACTER = /\p{Cc}/gu;

/** `text` with each control character written as a JSON-style escape (`\u001b`), visible and harmless. */
export function showControls(text: string): string {
  return text.replace(
    CONTROL_CHARACTER,
    (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Shortens text to `max` characters with an ellipsis; one line, its control characters shown (`showControls`). */
export function clip(text: string, max: number): string {
  const line = showControls(text.replace(/\s+/g, ' ').trim());
  if (line.length <= max) return line;
  // Cut whole escapes only: half of `\u001b` would read as something else.
  return `${line.slice(0, max - 1).replace(/\\u[0-9a-f]{0,3}$/, '')}…`;
}

/**
 * `text` as one word a POSIX shell reads back unchanged: as it is when it holds only safe characters, else in
 * single quotes. For commands printed to be pasted: a tenant named `<a> & "b"` would otherwise redirect and
 * background.
 */
export function shellWord(text: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

/** `1 contact` / `2 contacts`. */
export const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`;

/**
 * Writes `value` to stdout as `print` writes JSON (`JSON.stringify(value, null, 2)` and a newline) without
 * building the whole text: arrays and plain objects are written part by part, and an async iterable is written
 * as one array of all the items of all its pages, each page asked for once the previous one is written. A value
 * whose long lists come page by page from the store is printed holding one page at a time.
 */
export async function printJsonStreamed(value: unknown): Promise<void> {
  const out = new StdoutWriter();
  await writeJson(out, value, '');
  out.push('\n');
  await out.flush();
}

/** Buffers small pieces; `flush` writes them in one call and waits while stdout is full. */
class StdoutWriter {
  private pieces: string[] = [];
  push(text: string): void {
    this.pieces.push(text);
  }
  async flush(): Promise<void> {
    const text = this.pieces.join('');
    this.pieces = [];
    if (text !== '' && !process.stdout.write(text)) await once(process.stdout, 'drain');
  }
}

const isPagedArray = (value: unknown): value is AsyncIterable<readonly unknown[]> =>
  typeof value === 'object' && value !== null && Symbol.asyncIterator in value;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' &&
  value !== null &&
  [Object.prototype, null].includes(Object.getPrototypeOf(value) as object | null);

/** Values `JSON.stringify` leaves out of an object and writes as `null` in an array. */
const isOmitted = (value: unknown) =>
  value === undefined || typeof value === 'function' || typeof value === 'symbol';

async function writeJson(out: StdoutWriter, value: unknown, indent: string): Promise<void> {
  if (isPagedArray(value)) {
    // Items come from the store: plain JSON, each written whole.
    await writeElements(out, value, indent, async (item, inner) => writeLeaf(out, item, inner));
  } else if (Array.isArray(value)) {
    await writeElements(out, [value], indent, (item, inner) => writeJson(out, item, inner));
  } else if (isPlainObject(value)) {
    const inner = `${indent}  `;
    const fields = Object.entries(value).filter(([, field]) => !isOmitted(field));
    for (const [i, [key, field]] of fields.entries()) {
      out.push(`${i === 0 ? '{' : ','}\n${inner}${JSON.stringify(key)}: `);
      await writeJson(out, field, inner);
    }
    out.push(fields.length === 0 ? '{}' : `\n${indent}}`);
  } else {
    writeLeaf(out, value, indent);
  }
}

/** One JSON array of every item of every page; written out after each page. */
async function writeElements(
  out: StdoutWriter,
  pages: AsyncIterable<readonly unknown[]> | Iterable<readonly unknown[]>,
  indent: string,
  writeItem: (item: unknown, inner: string) => Promise<void>,
): Promise<void> {
  const inner = `${indent}  `;
  let written = 0;
  for await (const page of pages) {
    for (const item of page) {
      out.push(`${written === 0 ? '[' : ','}\n${inner}`);
      await writeItem(item, inner);
      written += 1;
    }
    await out.flush();
  }
  out.push(written === 0 ? '[]' : `\n${indent}]`);
}

/** `JSON.stringify` with `indent` before each of its lines but the first (JSON text has no raw newline inside a token). */
function writeLeaf(out: StdoutWriter, value: unknown, indent: string): void {
  out.push((JSON.stringify(value, null, 2) ?? 'null').replaceAll('\n', `\n${indent}`));
}
