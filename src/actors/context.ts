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
  /**
   * `delta` (default): list the window from the cursor and stage only records whose content or version
   * changed. `full`: list everything up to the window's end and stage every record, the "fetch everything
   * every time" approach, kept only as the baseline `npm run bench:sync` measures delta against.
   */
  fetchMode?: FetchMode;
  /** Told after each outbound write settles, for progress displays. Must not throw. */
  onPushProgress?: (progress: { done: number; total: number }) => void;
}

export type FetchMode = 'delta' | 'full';

export const DEFAULT_BATCH_SIZE = 500;

/** How a phase is called: its persisted input and the signal that aborts it when its state is left. */
export interface PhaseCall<TInput> {
  input: TInput;
  signal: AbortSignal;
}
