import type { Store } from '../persistence/store.ts';
import type { CrmProvider } from '../providers/provider.ts';

/** What every phase actor of one connection closes over. */
export interface PhaseDeps {
  store: Store;
  provider: CrmProvider;
  /** The only clock the phases read (tests pass a fixed or simulated one). */
  clock: () => Date;
  /** Records per reconcile batch and per store round trip; 500 by default. */
  batchSize?: number;
}

export const DEFAULT_BATCH_SIZE = 500;

/** How a phase is called: its persisted input and the signal that aborts it when its state is left. */
export interface PhaseCall<TInput> {
  input: TInput;
  signal: AbortSignal;
}
