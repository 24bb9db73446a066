import { readFileSync } from 'node:fs';
import { UsageError } from './usageError.ts';

/** The common reasons a file cannot be read, in words: an errno code alone (`ENOENT`) says little. */
const readFailures: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EISDIR: 'it is a directory',
  EACCES: 'permission denied',
};

/** A text file's content; exit 2 when it cannot be read. */
export function readTextFile(file: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException;
    throw new UsageError(`cannot read ${file}: ${(code && readFailures[code]) ?? code ?? String(error)}`);
  }
  try {
    // Fatal: a byte that is not UTF-8 would otherwise become U+FFFD and be stored and pushed as such. A leading
    // byte-order mark is dropped.
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UsageError(`${file} is not UTF-8 text; save it as UTF-8 and try again`);
  }
}
