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
  /** How long this run of the phase may go before it hands over to the next (a step's ceiling); none: unbounded. */
  stepBudget?: StepBudget;
  /** The run's lease owner: its reconcile batches commit only while it holds the lease (`holdLease`). */
  leaseOwner?: string;
  /** Till when creates of a lease holder found gone may still reach the CRM (`HeldLease.writesLandBy`, `shownBy`). */
  writesLandBy?: Date | null;
}

/**
 * A bound on one run of a phase: a step of the Inngest function may run for two hours at most, and a first push of
 * 100,000 contacts to a CRM allowing 50 requests a minute takes more than a day. A phase asks `spent()` between units of work it has committed
 * (a reconcile batch, a settled write), and once it has committed one in this run and the time is spent, ends the
 * run there with `handOver`: the run stops where the machine was last persisted, and the next step resumes the
 * phase from its committed progress, as after a crash but with nothing in flight.
 */
export interface StepBudget {
  spent(): boolean;
  /** Stops the run here; settles only by rejecting once `signal` aborts (the run stops the machine's actor). */
  handOver(signal: AbortSignal): Promise<never>;
}

export type FetchMode = 'delta' | 'full';

export const DEFAULT_BATCH_SIZE = 500;

/** How a phase is called: its persisted input and the signal that aborts it when its state is left. */
export interface PhaseCall<TInput> {
  input: TInput;
  signal: AbortSignal;
}
