import type { z } from 'zod';
import { err, ok, type Result } from '../../core/result.ts';
import { UNSTORABLE_TEXT, unstorableTextPath } from '../../core/storableText.ts';
import { describeIssues } from '../../core/zodIssues.ts';
import type { SecretBox } from '../secrets.ts';
import type { SqlClient } from '../sqlClient.ts';
import type { StoreError } from '../store.ts';

/** What every part of the SQL store closes over. */
export interface SqlContext {
  client: SqlClient;
  secrets: SecretBox;
  /** `true` when the lease owner's process is known to be gone (same host, dead pid). */
  isOwnerGone: (owner: string) => boolean;
  newId: () => string;
  /** Leases this store holds: connection id → owner. Shared with the store's transactions. */
  heldLeases: Map<string, string>;
  inTransaction: boolean;
}

/** Validate a caller's input; `invalid_input` lists every problem, or names the first text the store cannot hold. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): Result<z.output<S>, StoreError> {
  const parsed = schema.safeParse(input);
  if (parsed.success) {
    const unstorable = unstorableTextPath(parsed.data);
    if (unstorable === null) return ok(parsed.data);
    return err({ kind: 'invalid_input', message: `${unstorable}: ${UNSTORABLE_TEXT}` });
  }
  const problems = parsed.error.issues.map(
    (issue) => `${issue.path.join('.') || '(input)'}: ${issue.message}`,
  );
  return err({ kind: 'invalid_input', message: problems.join('; ') });
}

/** Validate rows read back; a mismatch means the stored data is not what this version wrote. */
export function parseRows<S extends z.ZodType>(
  schema: S,
  rows: readonly unknown[],
  what: string,
): Result<Array<z.output<S>>, StoreError> {
  const out: Array<z.output<S>> = [];
  for (const row of rows) {
    const parsed = schema.safeParse(row);
    if (!parsed.success) {
      return err({
        kind: 'corrupt',
        // One line, as every store error: zod's own message is JSON over many lines, and a CLI printed them all.
        message: `stored ${what} does not match its schema: ${describeIssues(parsed.error)}`,
      });
    }
    out.push(parsed.data);
  }
  return ok(out);
}

/** The single row of a by-key read, or `not_found`. */
export function parseOne<S extends z.ZodType>(
  schema: S,
  rows: readonly unknown[],
  what: string,
): Result<z.output<S>, StoreError> {
  const parsed = parseRows(schema, rows.slice(0, 1), what);
  if (!parsed.ok) return parsed;
  const [first] = parsed.value;
  return first === undefined ? err({ kind: 'not_found', message: `${what} not found` }) : ok(first);
}

/** Carries an `err` out of the driver's transaction so that it rolls back. */
class Rollback<E> {
  constructor(readonly result: Result<never, E>) {}
}

/** Run `fn` in a transaction that commits on `ok` and rolls back on `err` or a throw. */
export async function transact<T, E>(
  client: SqlClient,
  fn: (tx: SqlClient) => Promise<Result<T, E>>,
): Promise<Result<T, E>> {
  try {
    return await client.transaction(async (tx) => {
      const result = await fn(tx);
      if (!result.ok) throw new Rollback(result);
      return result;
    });
  } catch (error) {
    if (error instanceof Rollback) return error.result as Result<never, E>;
    throw error;
  }
}

/** JSON for a `$n::jsonb` parameter (pg would turn a JS array into a Postgres array). */
export const json = (value: unknown): string => JSON.stringify(value);
