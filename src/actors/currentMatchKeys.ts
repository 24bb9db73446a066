import { ok, type Result } from '../core/result.ts';
import type { ReconcilePhaseInput } from '../machines/phases.ts';
import type { Store, StoreError } from '../persistence/store.ts';
import { DEFAULT_BATCH_SIZE, type PhaseCall, type PhaseDeps, type StepBudget } from './context.ts';
import { storeFailure } from './failures.ts';
import { yieldTurn } from './yieldTurn.ts';

/**
 * Brings the tenant's stored match keys up to the current normalisation before anything looks candidates up by
 * them: a contact stored before `MATCH_RECORD_VERSION` last changed holds keys of the old folding, and a record
 * whose new keys miss them all would become a second contact. Batch by batch, each its own transaction, so it
 * resumes where a stopped process (or a step that spent its budget, after a batch) left it; once every contact is
 * current it is one index probe. Returns how many contacts were refreshed, or the store's failure.
 */
export async function refreshOutdatedMatchKeys(
  store: Store,
  tenantId: string,
  options: { batchSize?: number; signal?: AbortSignal; stepBudget?: StepBudget } = {},
): Promise<Result<number, StoreError>> {
  const limit = options.batchSize ?? DEFAULT_BATCH_SIZE;
  let total = 0;
  for (;;) {
    options.signal?.throwIfAborted();
    const batch = await store.refreshMatchKeys({ tenantId, limit });
    if (!batch.ok) return batch;
    if (batch.value.refreshed === 0) return ok(total);
    total += batch.value.refreshed;
    await yieldTurn();
    // A full batch may have more after it: a step whose time is spent hands over, the next refreshes the rest.
    if (batch.value.refreshed === limit && options.signal !== undefined && options.stepBudget?.spent())
      await options.stepBudget.handOver(options.signal);
  }
}

/** The reconcile phase, run once the tenant's match keys are current (a store failure fails the phase). */
export function withCurrentMatchKeys<TOutput>(
  deps: PhaseDeps,
  reconcile: (call: PhaseCall<ReconcilePhaseInput>) => Promise<TOutput>,
) {
  return async (call: PhaseCall<ReconcilePhaseInput>): Promise<TOutput> => {
    const refreshed = await refreshOutdatedMatchKeys(deps.store, call.input.connection.tenantId, {
      ...(deps.batchSize === undefined ? {} : { batchSize: deps.batchSize }),
      ...(deps.stepBudget === undefined ? {} : { stepBudget: deps.stepBudget }),
      signal: call.signal,
    });
    if (!refreshed.ok) throw storeFailure(refreshed.error, deps.clock());
    return reconcile(call);
  };
}
