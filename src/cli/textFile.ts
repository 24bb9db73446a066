import { constants } from 'node:buffer';
import { readFileSync, statSync } from 'node:fs';
import { UsageError } from './usageError.ts';

/** The common reasons a file cannot be read, in words: an errno code alone (`ENOENT`) says little. */
const readFailures: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EISDIR: 'it is a directory',
  EACCES: 'permission denied',
};

/**
 * The most bytes a file argument may hold: its text must fit one JavaScript string (about 512 MB on 64-bit Node),
 * and a UTF-8 file of this many bytes always does. A larger file failed as "not UTF-8 text".
 */
const MAX_TEXT_FILE_BYTES = constants.MAX_STRING_LENGTH;

const tooLarge = (file: string, size: number) =>
  new UsageError(
    `${file} is too large to read (${size} bytes; at most ${MAX_TEXT_FILE_BYTES}, about 512 MB): split it into smaller files`,
  );

/** A text file's content; exit 2 when it cannot be read. */
export function readTextFile(file: string): string {
  let bytes: Buffer;
  try {
    // Sized first, so that a file too large is refused before it is read into memory.
    const { size } = statSync(file);
    if (size > MAX_TEXT_FILE_BYTES) throw tooLarge(file, size);
    bytes = readFileSync(file);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const { code } = error as NodeJS.ErrnoException;
    throw new UsageError(`cannot read ${file}: ${(code && readFailures[code]) ?? code ?? String(error)}`);
  }
  try {
    // Fatal: a byte that is not UTF-8 would otherwise become U+FFFD and be stored and pushed as such. A leading
    // byte-order mark is dropped.
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    // A file that grew past the limit after it was sized.
    if ((error as NodeJS.ErrnoException).code === 'ERR_STRING_TOO_LONG') throw tooLarge(file, bytes.length);
    throw new UsageError(`${file} is not UTF-8 text; save it as UTF-8 and try again`);
  }
}
