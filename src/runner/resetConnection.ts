import { err, type Result } from '../core/result.ts';
import type { ConnectionRef } from '../persistence/store.ts';
import { leaseConnection, type RunError, type RunnerDeps } from './connectionRunner.ts';
import { type Restarted, readStoredMachine, restartAtCommittedCursor } from './restartMachine.ts';

export type ResetError = RunError | { kind: 'nothing_to_reset'; message: string };

/**
 * `crm-sync reset`: under the connection's lease, replaces a snapshot that cannot be restored with a fresh idle
 * machine at the committed cursors (`restartAtCommittedCursor`). A snapshot that restores is left alone: its
 * machine goes on from where it is (`crm-sync retry` leads it out of error).
 */
export async function resetConnection(
  deps: RunnerDeps,
  ref: ConnectionRef,
): Promise<Result<Restarted, ResetError>> {
  const leased = await leaseConnection(deps, ref);
  if (!leased.ok) return leased;
  const { connection, run } = leased.value;
  try {
    const record = await run.store.loadSnapshot(ref);
    if (!record.ok) return err({ kind: 'store', message: record.error.message });
    const stored = readStoredMachine(record.value);
    if (stored.kind !== 'unrestorable') {
      const state = stored.kind === 'none' ? 'idle' : stored.restored.state;
      return err({
        kind: 'nothing_to_reset',
        message: `its machine snapshot restores (${state}): nothing to reset`,
      });
    }
    const restarted = await restartAtCommittedCursor(run.store, connection, stored, run.clock(), run.owner);
    return restarted.ok ? restarted : err({ kind: 'store', message: restarted.error.message });
  } finally {
    await run.store.releaseLease({ ...ref, owner: run.owner });
  }
}
