import { createActor } from 'xstate';
import { z } from 'zod';
import { err, ok, type Result } from '../core/result.ts';
import {
  type ConnectionInput,
  cycleCounts,
  cycleSchema,
  type LastAudit,
  lastAuditSchema,
} from '../machines/connectionContext.ts';
import { connectionMachine } from '../machines/connectionMachine.ts';
import {
  type PersistedConnectionError,
  parsePersistedConnection,
  type RestoredConnection,
  toPersisted,
} from '../machines/persistence.ts';
import { auditBodySchema } from '../persistence/audit.ts';
import { auditedNoteKinds } from '../persistence/cycleWork.ts';
import type { Connection, SnapshotRecord } from '../persistence/records.ts';
import type { Store, StoreData, StoreError } from '../persistence/store.ts';

/*
 * A stored snapshot this crm-sync cannot restore can always be replaced by a fresh idle machine at the connection's
 * committed cursors, losing nothing: the cursors are committed in the connection row with each cycle's audit, and
 * writes still to send wait in the push ledger, which any cycle's push takes up. A cycle that was in progress is
 * abandoned and its window fetched again by the next, as any re-run of a window (idempotent upserts).
 */

/** The stored snapshot as this machine reads it: restored, absent (never ran), or unrestorable and why. */
export type StoredMachine =
  | { kind: 'restored'; restored: RestoredConnection; record: SnapshotRecord }
  | { kind: 'none' }
  | { kind: 'unrestorable'; error: PersistedConnectionError; record: SnapshotRecord };

export function readStoredMachine(record: SnapshotRecord | null): StoredMachine {
  if (record === null) return { kind: 'none' };
  const restored = parsePersistedConnection({
    machineVersion: Number(record.machineVersion),
    snapshot: record.snapshot,
  });
  return restored.ok
    ? { kind: 'restored', restored: restored.value, record }
    : { kind: 'unrestorable', error: restored.error, record };
}

/**
 * An older machine version's snapshot, left by the crm-sync this one replaced, is restarted by the next run on its
 * own: otherwise an upgrade would stop every connection. A snapshot of this version that does not validate (a
 * defect, a hand edit) or of a newer one (a rollback) waits for an operator's `crm-sync reset`.
 */
export const restartsOnItsOwn = (error: PersistedConnectionError): boolean => error.kind === 'older_version';

/** Why the snapshot cannot be restored and what happens next, in words for the views and failures; `resetHow` names the reset. */
export function unrestorableWords(error: PersistedConnectionError, resetHow = 'crm-sync reset'): string {
  const why =
    error.kind === 'older_version' || error.kind === 'newer_version'
      ? `it was written by machine version ${error.found} and this crm-sync runs version ${error.expected}`
      : `${error.kind}: ${error.message}`;
  const next = restartsOnItsOwn(error)
    ? 'its next run restarts it at its committed cursor'
    : `${resetHow} restarts it at its committed cursor (the window of a cycle it was in is fetched again)`;
  return `stored machine snapshot cannot be restored: ${why}; ${next}`;
}

/** A cycle id in a snapshot of any version, when it has one where this version keeps it. */
const cycleIdSchema = z.looseObject({
  context: z.looseObject({ cycle: z.looseObject({ cycleId: z.string().min(1) }) }),
});

/** How many records the cycle of a snapshot of any version fetched, when it keeps the count as this version does. */
const fetchedOfSchema = z.looseObject({
  context: z.looseObject({
    cycle: z.looseObject({ fetch: z.looseObject({ records: z.number().int().nonnegative() }) }),
  }),
});

/** The start and window end of a snapshot's cycle, of any version, when it keeps them as this version does. */
const cycleTimesOfSchema = z.looseObject({
  context: z.looseObject({
    cycle: z.looseObject({
      startedAt: z.iso.datetime({ offset: true }),
      window: z.looseObject({ to: z.iso.datetime({ offset: true }) }),
    }),
  }),
});

/** The last completed cycle in a snapshot of any version, when it keeps one as this version does. */
const lastAuditOfSchema = z.looseObject({ context: z.looseObject({ lastAudit: lastAuditSchema }) });

/** A snapshot's cycle, when it is kept as this version keeps it: what its completion records as the last cycle. */
const cycleOfSchema = z.looseObject({ context: z.looseObject({ cycle: cycleSchema }) });

/** What a restart replaced. */
export interface Restarted {
  /** The stored snapshot's state (its `state_value`, as the machine that wrote it named it). */
  fromState: string;
  /** The cycle abandoned, when the snapshot had one this version can find. */
  abandonedCycleId: string | null;
  /** Id of the audit entry of the abandoned cycle; `null` when the machine was idle. */
  auditCycleId: string | null;
}

/**
 * Replaces an unrestorable snapshot with a fresh idle machine at the committed cursors, in one transaction with,
 * when a cycle was in progress, its audit entry (`failed`, listing the conflicts, duplicates and errors it had
 * noted) and the removal of its staged pages and notes. Keyed by the replaced snapshot's save instant, so a run
 * that stops after it and redoes it writes the entry once. Only under the connection's lease (`leaseOwner`).
 */
export async function restartAtCommittedCursor(
  store: Pick<Store, 'transaction' | 'listAudit'>,
  connection: Connection,
  unrestorable: Extract<StoredMachine, { kind: 'unrestorable' }>,
  now: Date,
  leaseOwner: string,
): Promise<Result<Restarted, StoreError>> {
  const { record, error } = unrestorable;
  const ref = { tenantId: connection.tenantId, connectionId: connection.id };
  const fromState =
    typeof record.stateValue === 'string' ? record.stateValue : JSON.stringify(record.stateValue);
  const found = cycleIdSchema.safeParse(record.snapshot);
  const abandonedCycleId = found.success ? found.data.context.cycle.cycleId : null;
  // A machine that stopped in auditing after the audit transaction, before the snapshot saying idle, finished its
  // cycle: it is audited `completed` and its cursors are committed. Audited again as abandoned, it read as failed,
  // its window to be fetched again.
  const completed = abandonedCycleId === null ? null : await completedEntry(store, ref, abandonedCycleId);
  if (completed !== null && !completed.ok) return completed;
  const completedAt = completed?.value ?? null;
  // A machine in error or backoff is still in its cycle, whose notes the abandonment audit lists.
  const auditCycleId =
    fromState !== 'idle' && completedAt === null
      ? `${abandonedCycleId ?? 'unknown-cycle'}/restarted@${record.updatedAt.toISOString()}`
      : null;
  const fresh = freshSnapshot(connection, lastCompleted(record, completedAt));
  const restarted = await store.transaction(async (tx): Promise<Result<void, StoreError>> => {
    if (auditCycleId !== null) {
      const audited = await abandonedCycleAudit(tx, connection, {
        auditCycleId,
        abandonedCycleId,
        fetched: fetchedOfSchema.safeParse(record.snapshot).data?.context.cycle.fetch.records ?? 0,
        fromState,
        why: unrestorableWords(error),
        since: record.updatedAt,
        cycle: cycleTimesOfSchema.safeParse(record.snapshot).data?.context.cycle ?? null,
        now,
      });
      if (!audited.ok) return audited;
    }
    if (abandonedCycleId !== null) {
      const cleared = await tx.clearCycleWork({ ...ref, cycleId: abandonedCycleId });
      if (!cleared.ok) return cleared;
    }
    return tx.saveSnapshot({
      ...ref,
      machineVersion: String(fresh.machineVersion),
      snapshot: fresh.snapshot,
      stateValue: 'idle',
      now,
      leaseOwner,
    });
  });
  return restarted.ok ? ok({ fromState, abandonedCycleId, auditCycleId }) : restarted;
}

/**
 * When cycle `cycleId` committed its `completed` audit entry: its finish instant; otherwise `null`. Looked for from
 * the newest entry back to the connection's latest `completed` one: under the lease no other cycle completes while
 * this one's snapshot stands, but failure entries may come after its own (a failed run's `run:<id>`, written outside
 * any cycle, or outside the lease, while the snapshot still said auditing; a failure entry of this very cycle), so the
 * latest entry alone is not enough. Failure entries only are skipped, `itemsPerList: 0`, a page at a time.
 */
export async function completedEntry(
  store: Pick<Store, 'listAudit'>,
  ref: { tenantId: string; connectionId: string },
  cycleId: string,
): Promise<Result<string | null, StoreError>> {
  let beforeId: number | undefined;
  for (;;) {
    const page = await store.listAudit({
      ...ref,
      limit: 100,
      itemsPerList: 0,
      ...(beforeId === undefined ? {} : { beforeId }),
    });
    if (!page.ok) return page;
    for (const { body } of page.value.entries) {
      if (body.outcome !== 'completed') continue;
      return ok(body.cycleId === cycleId ? body.finishedAt : null);
    }
    if (page.value.nextBeforeId === null) return ok(null);
    beforeId = page.value.nextBeforeId;
  }
}

/**
 * The last completed cycle the fresh snapshot keeps: the replaced machine's cycle when it had finished
 * (`completedAt`) and is kept as this version keeps it, otherwise the replaced machine's last completed cycle.
 */
function lastCompleted(record: SnapshotRecord, completedAt: string | null): LastAudit | null {
  const cycle = completedAt === null ? null : cycleOfSchema.safeParse(record.snapshot).data?.context.cycle;
  if (cycle != null && completedAt !== null)
    return {
      cycleId: cycle.cycleId,
      startedAt: cycle.startedAt,
      finishedAt: completedAt,
      counts: cycleCounts(cycle),
    };
  const kept = lastAuditOfSchema.safeParse(record.snapshot);
  return kept.success ? kept.data.context.lastAudit : null;
}

async function abandonedCycleAudit(
  tx: StoreData,
  connection: Connection,
  params: {
    auditCycleId: string;
    abandonedCycleId: string | null;
    fetched: number;
    fromState: string;
    why: string;
    /** When the snapshot was saved: the cycle's start, where the snapshot does not say it. */
    since: Date;
    /** The abandoned cycle's start and window end, as its snapshot keeps them (not the restart's). */
    cycle: { startedAt: string; window: { to: string } } | null;
    now: Date;
  },
): Promise<Result<unknown, StoreError>> {
  const { auditCycleId, abandonedCycleId, fetched, fromState, why, since, cycle, now } = params;
  const ref = { tenantId: connection.tenantId, connectionId: connection.id };
  // The writes the CRM acknowledged before the cycle was abandoned: no later entry counts them.
  const totals =
    abandonedCycleId === null ? null : await tx.cycleNoteTotals({ ...ref, cycleId: abandonedCycleId });
  if (totals !== null && !totals.ok) return totals;
  const { created, updated, unchanged } = totals?.value ?? { created: 0, updated: 0, unchanged: 0 };
  const audit = auditBodySchema.safeParse({
    cycleId: auditCycleId,
    window: { from: connection.cursor, to: cycle?.window.to ?? now.toISOString() },
    fetched,
    written: { created, updated, unchanged },
    conflicts: [],
    duplicatesSuppressed: [],
    errors: [
      {
        status: null,
        message: `cycle ${abandonedCycleId ?? '(id unreadable)'} abandoned while ${fromState}, restarted at the committed cursor: ${why}`,
        // The next cycle fetches the same window again.
        retry: true,
      },
    ],
    startedAt: cycle?.startedAt ?? since.toISOString(),
    finishedAt: now.toISOString(),
    outcome: 'failed',
  });
  if (!audit.success) return err({ kind: 'invalid_input', message: audit.error.message });
  return tx.commitCycle({
    ...ref,
    audit: audit.data,
    // What the abandoned cycle resolved and refused is in the store already: its notes are its only record.
    ...(abandonedCycleId === null ? {} : { notesOf: { cycleId: abandonedCycleId, kinds: auditedNoteKinds } }),
  });
}

/** The machine a run goes on from: the stored one, or a fresh one at the committed cursors. */
export type LoadedMachine = { kind: 'restored'; restored: RestoredConnection } | { kind: 'fresh' };

/**
 * Why no machine could be loaded: the store failed, or the snapshot waits for a reset (`unrestorable`, for a
 * caller to name its own way to reset; `message` names `crm-sync reset`).
 */
export type LoadMachineError =
  | { kind: 'store'; message: string }
  | { kind: 'snapshot'; message: string; unrestorable: PersistedConnectionError };

/**
 * The connection's stored machine as a run takes it up: restored; fresh when it never ran; restored from the
 * fresh snapshot of a restart at the committed cursors (`restartAtCommittedCursor`) of an older version's; refused
 * for any other snapshot it cannot restore. Only under the connection's lease (`leaseOwner`).
 */
export async function loadMachine(
  store: Pick<Store, 'loadSnapshot' | 'transaction' | 'listAudit'>,
  connection: Connection,
  now: Date,
  leaseOwner: string,
): Promise<Result<LoadedMachine, LoadMachineError>> {
  const record = await store.loadSnapshot({ tenantId: connection.tenantId, connectionId: connection.id });
  if (!record.ok) return err({ kind: 'store', message: record.error.message });
  const stored = readStoredMachine(record.value);
  if (stored.kind === 'restored') return ok({ kind: 'restored', restored: stored.restored });
  if (stored.kind === 'none') return ok({ kind: 'fresh' });
  if (!restartsOnItsOwn(stored.error))
    return err({ kind: 'snapshot', message: unrestorableWords(stored.error), unrestorable: stored.error });
  const restarted = await restartAtCommittedCursor(store, connection, stored, now, leaseOwner);
  if (!restarted.ok) return err({ kind: 'store', message: restarted.error.message });
  // Taken up from the fresh snapshot just saved, which keeps the replaced machine's last completed cycle: built from
  // the committed input instead, the run's first save dropped it, and `status` showed no last cycle.
  const saved = await store.loadSnapshot({ tenantId: connection.tenantId, connectionId: connection.id });
  if (!saved.ok) return err({ kind: 'store', message: saved.error.message });
  const taken = readStoredMachine(saved.value);
  return taken.kind === 'restored'
    ? ok({ kind: 'restored', restored: taken.restored })
    : err({ kind: 'store', message: 'the restarted machine snapshot did not read back' });
}

/** A machine's input at the connection row's committed cursors: a never-run machine, or a restarted one. */
export function committedInput(connection: Connection): ConnectionInput {
  return {
    connectionId: connection.id,
    tenantId: connection.tenantId,
    provider: connection.provider,
    cursor: connection.cursor,
    localCursor: connection.localCursor,
  };
}

/**
 * A fresh idle machine's snapshot at the connection row's committed cursors, keeping the replaced machine's last
 * completed cycle: history rather than state, which `status` and the admin view show until the next one completes.
 */
function freshSnapshot(connection: Connection, lastAudit: LastAudit | null) {
  const actor = createActor(connectionMachine, { input: committedInput(connection) });
  // Idle invokes nothing: starting it runs no phase. Persisted before stopping, as a stopped actor's is not restorable.
  actor.start();
  const persisted = toPersisted(actor);
  const context = actor.getSnapshot().context;
  actor.stop();
  // The machine sets `lastAudit` only when a cycle completes; a snapshot's context is data it validates on restore.
  const snapshot = { ...(persisted.snapshot as object), context: { ...context, lastAudit } };
  return { ...persisted, snapshot };
}
