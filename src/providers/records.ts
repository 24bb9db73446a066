import type { z } from 'zod';
import { err, ok, type Result } from '../core/result.ts';
import { isStorableText, UNSTORABLE_TEXT } from '../core/storableText.ts';
import type { InboundRecord, InboundRecordError, ProviderError, RecordRead } from './provider.ts';

/** Validates each raw record on its own: a bad one becomes an `InboundRecordError`, the rest go on. */
export function mapRecords(
  raws: readonly unknown[],
  map: (raw: unknown) => Result<InboundRecord, InboundRecordError>,
): { records: InboundRecord[]; errors: InboundRecordError[] } {
  const records: InboundRecord[] = [];
  const errors: InboundRecordError[] = [];
  for (const raw of raws) {
    const mapped = map(raw);
    if (!mapped.ok) {
      errors.push(mapped.error);
      continue;
    }
    // The contact's text is checked by its schema; the ids around it are the CRM's own.
    const { externalId, modified, version } = mapped.value;
    const unstorable = Object.entries({ externalId, modified, version }).find(
      ([, value]) => value !== null && !isStorableText(value),
    )?.[0];
    if (unstorable === undefined) records.push(mapped.value);
    else
      errors.push({
        // The id when it is storable (the bad value is the stamp or the version): the entry is released by it.
        externalId: unstorable === 'externalId' ? null : externalId,
        raw,
        message: `${unstorable}: ${UNSTORABLE_TEXT}`,
        fields: [unstorable],
      });
  }
  return { records, errors };
}

/** One record read by id (`getRecord`), mapped as its listing maps it; a read has no listing stamp (`modified`). */
export function recordRead(
  mapped: Result<InboundRecord, InboundRecordError>,
  what: string,
): Result<RecordRead, ProviderError> {
  if (!mapped.ok)
    return err({ kind: 'validation', status: 200, message: `${what}: ${mapped.error.message}` });
  const { modified: _, ...record } = mapped.value;
  return ok(record);
}

/** A record error from a failed zod parse, with the id when the raw payload has one. */
export function recordError(raw: unknown, error: z.ZodError, idKey = 'id'): InboundRecordError {
  const id = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>)[idKey] : undefined;
  return {
    externalId: typeof id === 'string' && id.length > 0 ? id : null,
    raw,
    message: error.issues.map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`).join('; '),
    fields: error.issues.map((i) => i.path.join('.')),
  };
}

/** Converts empty strings and absent values to `null`, trimming text. */
export function textOrNull(value: string | null | undefined): string | null {
  const trimmed = value?.trim();
  return trimmed ? trimmed : null;
}
