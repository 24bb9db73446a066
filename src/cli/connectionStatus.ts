import { hostname } from 'node:os';
import type { FetchWindow } from '../core/cursor.ts';
import {
  type ConnectionState,
  type ErrorReason,
  failedAttempts,
  type LastAudit,
  type LastError,
} from '../machines/connectionContext.ts';
import { isPidAlive, ownerGoneOnHost } from '../persistence/leaseOwner.ts';
import type { Connection, Tenant } from '../persistence/records.ts';
import type { Store } from '../persistence/store.ts';
import { baseUrlProblem, shownUrl } from '../providers/credentialEndpoint.ts';
import type { CursorPosition, ProviderName } from '../providers/provider.ts';
import { readStoredMachine, restartsOnItsOwn, unrestorableWords } from '../runner/restartMachine.ts';
import { must } from './app.ts';
import { clip, formatCursor, formatInstant, formatTable, shellWord, showControls } from './output.ts';

const isOwnerGone = ownerGoneOnHost(hostname(), isPidAlive);

/** Where one connection's machine stands, as `status --json` and `sync --json` print it. */
export interface ConnectionStatus {
  tenant: string;
  tenantId: string;
  provider: ProviderName;
  connectionId: string;
  enabled: boolean;
  baseUrl: string;
  /** Why runs refuse the base URL (plain http to another host, stored by an earlier version); `null` when they send. */
  baseUrlProblem: string | null;
  /** The machine's state; `idle` for a connection never run. */
  state: ConnectionState;
  /** Committed provider cursor; `null` before the first completed cycle. */
  cursor: CursorPosition | null;
  localCursor: number;
  /** The window of the cycle in progress; `null` when idle. */
  window: FetchWindow | null;
  cycleId: string | null;
  /** Failed attempts of the current phase in a row, as the admin API's connection view counts them. */
  attempt: number;
  /** ISO instant a `backoff` may resume. */
  resumeAt: string | null;
  lastError: LastError | null;
  /** Why the machine is in `error`. */
  errorReason: ErrorReason | null;
  /** The last completed cycle and its counts. */
  lastAudit: LastAudit | null;
  /** ISO instant the scheduler runs it next. */
  nextRunAt: string;
  /** Owner of a live lease: a run in progress somewhere. */
  runningBy: string | null;
  /** Owner of a lease whose process is known to be gone (killed mid-cycle); the next run takes over at once. */
  abandonedBy: string | null;
  /** Set when the stored snapshot cannot be read back (e.g. written by a newer version). */
  snapshotProblem: string | null;
  /** The snapshot is an older version's, which the next run restarts at the committed cursor (no reset needed). */
  snapshotRestartsOnItsOwn: boolean;
  /** Set by `sync`/`retry` when the run itself could not happen (e.g. another process holds the lease). */
  runError?: string;
}

/** Reads the connection's persisted machine snapshot and combines it with the connection row. */
export async function readStatus(
  store: Store,
  tenant: Tenant,
  connection: Connection,
  now: Date,
): Promise<ConnectionStatus> {
  const ref = { tenantId: tenant.id, connectionId: connection.id };
  const stored = must(await store.loadSnapshot(ref), `reading the ${connection.provider} machine`);
  const live = connection.lease !== null && connection.lease.expiresAt > now ? connection.lease.owner : null;
  const base: ConnectionStatus = {
    tenant: tenant.name,
    tenantId: tenant.id,
    provider: connection.provider,
    connectionId: connection.id,
    enabled: connection.enabled,
    baseUrl: shownUrl(connection.baseUrl),
    baseUrlProblem: baseUrlProblem(connection.baseUrl),
    state: 'idle',
    cursor: connection.cursor,
    localCursor: connection.localCursor,
    window: null,
    cycleId: null,
    attempt: 0,
    resumeAt: null,
    lastError: null,
    errorReason: null,
    lastAudit: null,
    nextRunAt: connection.nextRunAt.toISOString(),
    runningBy: live !== null && !isOwnerGone(live) ? live : null,
    abandonedBy: live !== null && isOwnerGone(live) ? live : null,
    snapshotProblem: null,
    snapshotRestartsOnItsOwn: false,
  };
  const machine = readStoredMachine(stored);
  if (machine.kind === 'unrestorable') {
    return {
      ...base,
      state:
        typeof machine.record.stateValue === 'string'
          ? (machine.record.stateValue as ConnectionState)
          : 'idle',
      snapshotProblem: unrestorableWords(
        machine.error,
        `crm-sync reset --tenant ${shellWord(tenant.name)} --provider ${connection.provider}`,
      ),
      snapshotRestartsOnItsOwn: restartsOnItsOwn(machine.error),
    };
  }
  if (machine.kind === 'none') return base;
  const { state, context } = machine.restored;
  return {
    ...base,
    state,
    // The cursors stay the connection row's, the committed ones (as the API shows them): a machine stopped in
    // auditing after its audit transaction, before the snapshot saying idle, still holds the cycle's old ones.
    window: context.cycle?.window ?? null,
    cycleId: context.cycle?.cycleId ?? null,
    attempt: failedAttempts(state, context),
    resumeAt: context.resumeAt,
    lastError: context.lastError,
    errorReason: context.errorReason,
    lastAudit: context.lastAudit,
  };
}

/** An aligned table, then an indented line for each connection with something to explain. */
export function formatStatuses(rows: readonly ConnectionStatus[]): string {
  const table = formatTable<ConnectionStatus>(
    [
      { header: 'provider', cell: (r) => r.provider },
      { header: 'state', cell: (r) => (r.enabled ? r.state : `${r.state} (disabled)`) },
      { header: 'cursor', cell: (r) => formatCursor(r.cursor) },
      { header: 'attempt', cell: (r) => String(r.attempt), alignRight: true },
      { header: 'resume at', cell: (r) => formatInstant(r.resumeAt) },
      { header: 'next run', cell: (r) => formatInstant(r.nextRunAt) },
      { header: 'last cycle', cell: (r) => describeLastAudit(r.lastAudit) },
    ],
    rows,
  );
  // A last error quotes what the CRM answered: its control characters are shown, not obeyed by the terminal.
  const details = rows.flatMap((r) => explain(r).map((line) => `  ${r.provider}: ${showControls(line)}\n`));
  return table + details.join('');
}

function describeLastAudit(audit: LastAudit | null): string {
  if (audit === null) return '-';
  const c = audit.counts;
  return `${formatInstant(audit.finishedAt)} fetched ${c.fetched}, upserts ${c.upserts}, sent ${c.sent}, conflicts ${c.conflicts}`;
}

function explain(r: ConnectionStatus): string[] {
  const lines: string[] = [];
  if (r.runError !== undefined) lines.push(`not run: ${r.runError}`);
  if (r.baseUrlProblem !== null) {
    lines.push(
      `base url ${r.baseUrl} refused: ${r.baseUrlProblem}; no run sends to it until it is changed: ` +
        `${setBaseUrlCommand(r.tenant, r.provider)}`,
    );
  }
  if (r.snapshotProblem !== null) lines.push(clip(r.snapshotProblem, 400));
  if (r.runningBy !== null) lines.push(`running now (${r.runningBy})`);
  if (r.abandonedBy !== null) lines.push(`interrupted: its run (${r.abandonedBy}) is gone; sync resumes it`);
  if (r.window !== null) {
    const from = r.window.from === null ? 'the beginning' : formatCursor(r.window.from);
    lines.push(`cycle ${r.cycleId} not finished, window ${from} → ${formatInstant(r.window.to)}`);
  }
  if (r.lastError !== null) {
    const e = r.lastError;
    const status = e.status === null ? '' : ` ${e.status}`;
    lines.push(
      `last error in ${e.phase} at ${formatInstant(e.at)}: ${e.kind}${status}: ${clip(e.message, 200)}`,
    );
  }
  // A snapshot that cannot be restored says how to go on (above): a retry would refuse it too.
  if (r.state === 'error' && r.snapshotProblem === null) {
    const tenant = shellWord(r.tenant);
    const retry = `crm-sync retry --tenant ${tenant} --provider ${r.provider}`;
    // A retry sends to the base URL: one the runs refuse stops it again.
    const next =
      r.baseUrlProblem !== null
        ? `${setBaseUrlCommand(r.tenant, r.provider)}, then ${retry}`
        : r.errorReason === 'auth_failed'
          ? `crm-sync connection set-credentials, then ${retry}`
          : retry;
    // Out of attempts, the schedule retries it at its next run (docs/scheduling.md).
    const scheduled =
      r.errorReason === 'attempts_exhausted' && r.enabled
        ? `; the schedule retries it at ${formatInstant(r.nextRunAt)}`
        : '';
    lines.push(
      `stopped (${r.errorReason ?? 'error'})${scheduled}; to continue${scheduled === '' ? '' : ' now'}: ${next}`,
    );
  }
  return lines;
}

/** The command that gives a connection a new base URL, `URL` standing for it. */
export function setBaseUrlCommand(tenant: string, provider: ProviderName): string {
  return `crm-sync connection set-base-url --tenant ${shellWord(tenant)} --provider ${provider} URL`;
}
