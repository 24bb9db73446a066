import { err, ok, type Result } from '../core/result.ts';
import type { InboundRecordError, ProviderError, RecordRead, RecordsById } from './provider.ts';

/**
 * `getRecords` over one request that answers the records it holds of those asked for (`send`): each id answered as
 * `getRecord` answers it. An id the answer lacks is `not_found`, as the CRM's 404 for that id alone would be, unless
 * an answered record's id could not be read: that record may be it, so it is `validation` (left as it is).
 */
export async function readByIds(params: {
  externalIds: readonly string[];
  /** `capabilities.maxIdsPerRead`. */
  maxIds: number | null;
  /** The request, named in messages (`Reapit GET /contacts/?id=`). */
  what: string;
  send(ids: readonly string[]): Promise<Result<{ status: number; raws: readonly unknown[] }, ProviderError>>;
  /** One answered record, mapped as `getRecord` maps the answer for its id. */
  read(raw: unknown): Result<RecordRead, InboundRecordError>;
}): Promise<Result<RecordsById, ProviderError>> {
  const { externalIds, maxIds, what } = params;
  if (maxIds === null || externalIds.length === 0 || externalIds.length > maxIds)
    return err({
      kind: 'validation',
      status: null,
      message: `${what}: ${externalIds.length} ids asked, 1 to ${maxIds ?? 0} read at once`,
    });
  const answer = await params.send(externalIds);
  if (!answer.ok) return answer;
  const { status, raws } = answer.value;
  const asked = new Set(externalIds);
  const answers = new Map<string, Result<RecordRead, ProviderError>>();
  let unidentified = false;
  for (const raw of raws) {
    const read = params.read(raw);
    const id = read.ok ? read.value.externalId : read.error.externalId;
    if (id === null) unidentified = true;
    else if (asked.has(id))
      answers.set(
        id,
        read.ok ? read : err({ kind: 'validation', status, message: `${what} ${id}: ${read.error.message}` }),
      );
  }
  for (const id of asked) {
    if (answers.has(id)) continue;
    answers.set(
      id,
      err(
        unidentified
          ? { kind: 'validation', status, message: `${what}: a record answered without a readable id` }
          : { kind: 'not_found', status, message: `${what}: ${id} is not in the answer` },
      ),
    );
  }
  return ok(answers);
}
