import type { CursorPosition } from '../core/cursor.ts';
import { formatInterval } from '../core/interval.ts';
import type { ProviderName } from '../core/providerName.ts';
import { err, ok, type Result } from '../core/result.ts';
import {
  type ConnectionState,
  type ErrorReason,
  failedAttempts,
  type LastAudit,
  type LastError,
} from '../machines/connectionContext.ts';
import type { Phase } from '../machines/phases.ts';
import type { Connection } from '../persistence/records.ts';
import type { ConnectionRef, Store, StoreError } from '../persistence/store.ts';
import { baseUrlProblem, shownUrl } from '../providers/credentialEndpoint.ts';
import { readStoredMachine, restartsOnItsOwn, unrestorableWords } from '../runner/restartMachine.ts';

/** How an API client resets a connection whose snapshot cannot be restored, as the API's messages name it. */
export const resetHow = 'POST …/reset';

/** One connection as the admin API shows it: its settings, its committed cursor and its machine's state. */
export interface ConnectionView {
  id: string;
  tenantId: string;
  provider: ProviderName;
  baseUrl: string;
  /**
   * Why runs refuse the base URL (plain http to another host, which an earlier version stored); `null` when they
   * send to it. `crm-sync connection set-base-url` changes it.
   */
  baseUrlProblem: string | null;
  enabled: boolean;
  /** The connection's own interval (`15m`), `null` when it follows the tenant's. */
  interval: string | null;
  /** The interval in force. */
  effectiveInterval: string;
  /** ISO instant the scheduler next runs it. */
  nextRunAt: string;
  /** Committed provider cursor; `null` before the first completed cycle. */
  cursor: CursorPosition | null;
  localCursor: number;
  /** Whether a worker holds the connection's lease now (a run in progress). */
  running: boolean;
  /** The machine's state; `idle` before the first run; `null` when the stored snapshot is unreadable. */
  state: ConnectionState | null;
  /** Failed attempts of the current phase in a row (`failedAttempts`); 5 when attempts ran out. */
  attempt: number;
  /** When `backoff` may resume. */
  resumeAt: string | null;
  /** The phase `backoff` or `error` returns to. */
  resumePhase: Phase | null;
  lastError: LastError | null;
  /** Why the machine stopped in `error`. */
  errorReason: ErrorReason | null;
  lastAudit: LastAudit | null;
  /** ISO instant of the last persisted transition; `null` before the first run. */
  stateUpdatedAt: string | null;
  /** Why the stored snapshot could not be read, when it could not. */
  snapshotError: string | null;
  /**
   * The stored snapshot cannot be read but its next run restarts it by itself (an older machine version's, left by
   * an upgrade): a sync runs it, only a newer or invalid one waits for a reset.
   */
  snapshotRestartsOnItsOwn: boolean;
}

/** Reads a connection and its persisted machine snapshot into a `ConnectionView`. */
export async function loadConnectionView(
  store: Store,
  ref: ConnectionRef,
  now: Date,
): Promise<Result<ConnectionView, StoreError>> {
  const connection = await store.getConnection(ref);
  if (!connection.ok) return connection;
  return viewOf(store, connection.value, now);
}

/** Every connection of a tenant, as views. */
export async function listConnectionViews(
  store: Store,
  tenantId: string,
  now: Date,
): Promise<Result<ConnectionView[], StoreError>> {
  const connections = await store.listConnections({ tenantId });
  if (!connections.ok) return connections;
  const views: ConnectionView[] = [];
  for (const connection of connections.value) {
    const view = await viewOf(store, connection, now);
    if (!view.ok) return view;
    views.push(view.value);
  }
  return ok(views);
}

async function viewOf(
  store: Store,
  connection: Connection,
  now: Date,
): Promise<Result<ConnectionView, StoreError>> {
  const stored = await store.loadSnapshot({ tenantId: connection.tenantId, connectionId: connection.id });
  if (!stored.ok) return err(stored.error);
  const base = {
    id: connection.id,
    tenantId: connection.tenantId,
    provider: connection.provider,
    baseUrl: shownUrl(connection.baseUrl),
    baseUrlProblem: baseUrlProblem(connection.baseUrl),
    enabled: connection.enabled,
    interval: connection.syncIntervalSeconds === null ? null : formatInterval(connection.syncIntervalSeconds),
    effectiveInterval: formatInterval(connection.effectiveIntervalSeconds),
    nextRunAt: connection.nextRunAt.toISOString(),
    // The connection row's cursor is the committed one: only the audit transaction moves it.
    cursor: connection.cursor,
    localCursor: connection.localCursor,
    running: connection.lease !== null && connection.lease.expiresAt > now,
  };
  const fresh = {
    attempt: 0,
    resumeAt: null,
    resumePhase: null,
    lastError: null,
    errorReason: null,
    lastAudit: null,
    snapshotError: null,
    snapshotRestartsOnItsOwn: false,
  };
  const machine = readStoredMachine(stored.value);
  if (machine.kind === 'none') return ok({ ...base, ...fresh, state: 'idle', stateUpdatedAt: null });
  if (machine.kind === 'unrestorable') {
    return ok({
      ...base,
      ...fresh,
      state: null,
      stateUpdatedAt: machine.record.updatedAt.toISOString(),
      snapshotError: unrestorableWords(machine.error, resetHow),
      snapshotRestartsOnItsOwn: restartsOnItsOwn(machine.error),
    });
  }
  const stateUpdatedAt = machine.record.updatedAt.toISOString();
  const { state, context } = machine.restored;
  return ok({
    ...base,
    state,
    attempt: failedAttempts(state, context),
    resumeAt: context.resumeAt,
    resumePhase: context.resumePhase,
    lastError: context.lastError,
    errorReason: context.errorReason,
    lastAudit: context.lastAudit,
    stateUpdatedAt,
    snapshotError: null,
    snapshotRestartsOnItsOwn: false,
  });
}
