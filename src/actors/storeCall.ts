import type { Result } from '../core/result.ts';
import type { StoreError } from '../persistence/store.ts';
import { storeFailure } from './failures.ts';

/** Unwraps a store result inside a phase actor; a store failure rejects the phase with a `PhaseFailure`. */
export async function must<T>(result: Promise<Result<T, StoreError>>, clock: () => Date): Promise<T> {
  const settled = await result;
  if (!settled.ok) throw storeFailure(settled.error, clock());
  return settled.value;
}
