import type { z } from 'zod';
import { repeatedJsonKey } from '../core/repeatedJsonKey.ts';
import { describeIssues } from '../core/zodIssues.ts';
import { showControls } from './output.ts';
import { readTextFile } from './textFile.ts';
import { UsageError } from './usageError.ts';

/** One valid line of a JSONL file, with its 1-based line number. */
export interface NumberedLine<T> {
  line: number;
  value: T;
}

/** At most this many bad lines are listed; the rest are counted. */
const listedProblems = 20;

/**
 * Reads a JSONL file (one JSON value per line; blank lines skipped) and validates every line with `schema`.
 * All or nothing: when any line is bad, each bad line's problems go to stderr as `FILE:LINE: …` and the
 * whole file is refused (exit 2), so nothing is imported from a file that needs fixing.
 */
export function readJsonLines<TSchema extends z.ZodType>(
  file: string,
  schema: TSchema,
): NumberedLine<z.output<TSchema>>[] {
  const text = readTextFile(file);
  const valid: NumberedLine<z.output<TSchema>>[] = [];
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      // Node's parse message quotes the line; keep personal data out of the terminal and logs.
      problems.push(`${file}:${line}: not valid JSON`);
      return;
    }
    // JSON.parse keeps the last of a field given twice without a word: which one the line means cannot be told.
    const repeated = repeatedJsonKey(raw);
    if (repeated !== null) {
      problems.push(`${file}:${line}: ${repeated.join('.')}: given more than once`);
      return;
    }
    const parsed = schema.safeParse(json);
    if (parsed.success) valid.push({ line, value: parsed.data });
    else problems.push(`${file}:${line}: ${describeIssues(parsed.error)}`);
  });
  if (problems.length > 0) refuseFile(file, problems);
  if (valid.length === 0) throw new UsageError(`${file}: no lines to import`);
  return valid;
}

/** Refuses a whole file for its bad lines: the first ones to stderr as `FILE:LINE: …`, the rest counted. */
export function refuseFile(file: string, problems: readonly string[]): never {
  const shown = problems.slice(0, listedProblems);
  const more = problems.length - shown.length;
  process.stderr.write(`${shown.map(showControls).join('\n')}\n${more > 0 ? `… and ${more} more\n` : ''}`);
  throw new UsageError(`${file}: ${problems.length} invalid line(s); nothing imported`);
}
