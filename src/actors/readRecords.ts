import { err, type Result } from '../core/result.ts';
import type { CrmProvider, ProviderError, RecordRead } from '../providers/provider.ts';

/**
 * Each of `externalIds` (distinct) as `getRecord` answers it, in order: one request per `maxIdsPerRead` of them
 * where the provider reads several at once (`getRecords`), else one each. A batch request that fails is the answer
 * for each of its ids; the caller stops where it likes, and no further request is sent. `signal`, the phase's: a
 * phase stopped (a lease lost, the process stopping) sends no read it was waiting to send behind a limiter's pause.
 */
export async function* readRecords(
  provider: CrmProvider,
  externalIds: readonly string[],
  signal: AbortSignal,
): AsyncGenerator<[string, Result<RecordRead, ProviderError>]> {
  const max = provider.capabilities.maxIdsPerRead;
  if (max === null || provider.getRecords === undefined) {
    for (const externalId of externalIds)
      yield [externalId, await provider.getRecord({ externalId, signal })];
    return;
  }
  for (let start = 0; start < externalIds.length; start += max) {
    const ids = externalIds.slice(start, start + max);
    const answer = await provider.getRecords({ externalIds: ids, signal });
    for (const id of ids) {
      if (!answer.ok) yield [id, answer];
      else yield [id, answer.value.get(id) ?? err(unanswered(provider, id))];
    }
  }
}

/** An id a batch answer left out, against its contract: nothing can be said of it. */
const unanswered = (provider: CrmProvider, id: string): ProviderError => ({
  kind: 'validation',
  status: null,
  message: `${provider.name} getRecords did not answer for ${id}`,
});
