import type { SeenMachine } from './soakWorld.ts';

/**
 * Every cycle id the soak's runners were handed (random UUIDs, one per cycle started, as production's runner hands
 * out), per connection (`tenant/provider`), with the round and the process generation that got it; and how each
 * process first found each connection's machine. The audit check reads the log against it: an id the runner used
 * has exactly one terminal entry, and each round ends with exactly one completed entry per connection.
 */
export interface HandedCycle {
  round: number;
  cycleId: string;
  /** The process that got it: 0 for the replay; the faulted world counts its children from 1. */
  generation: number;
}

export interface SeenRecord extends SeenMachine {
  round: number;
  generation: number;
}

export class CycleLedger {
  readonly handed = new Map<string, HandedCycle[]>();
  readonly seen = new Map<string, SeenRecord[]>();
  /** Generations killed with SIGKILL (the faulted world's). */
  readonly killed = new Set<number>();

  hand(key: string, cycle: HandedCycle): void {
    const list = this.handed.get(key) ?? [];
    list.push(cycle);
    this.handed.set(key, list);
  }

  see(key: string, record: SeenRecord): void {
    const list = this.seen.get(key) ?? [];
    list.push(record);
    this.seen.set(key, list);
  }

  roundIds(key: string, round: number): string[] {
    return (this.handed.get(key) ?? []).filter((c) => c.round === round).map((c) => c.cycleId);
  }

  get count(): number {
    return [...this.handed.values()].reduce((n, list) => n + list.length, 0);
  }
}

export const ledgerKey = (tenant: string, provider: string) => `${tenant}/${provider}`;

/** An audit entry as the check needs it. */
export interface AuditSeen {
  cycleId: string;
  outcome: string;
}

export interface CycleCheck {
  problems: string[];
  completed: number;
  failed: number;
  /** Ids handed to a process killed before it saved the cycle's first snapshot (never used, so never audited). */
  lost: number;
}

/**
 * One connection's audit log against the ids its runners were handed:
 * - every completed entry is for a handed id, and no id is completed twice;
 * - every handed id has exactly one terminal entry: completed, or `failed` as `<id>/restarted@…` (a machine
 *   restarted at its committed cursor abandons its cycle so: src/runner/restartMachine.ts). `<id>/error@…` entries
 *   (src/runner/failedCycleAudit.ts: a cycle stopped in error, then retried) are not terminal;
 * - the one exception: an id handed to a process that was killed, the last it was handed for this connection, when
 *   the next process found the machine idle at another cycle: the kill came before the cycle's first snapshot;
 * - every round has exactly one completed entry among the ids handed out in it.
 */
export function checkCycles(
  label: string,
  ledger: CycleLedger,
  key: string,
  audits: AuditSeen[],
  rounds: number,
): CycleCheck {
  const problems: string[] = [];
  const handed = ledger.handed.get(key) ?? [];
  const seen = ledger.seen.get(key) ?? [];
  const known = new Set(handed.map((c) => c.cycleId));
  const completed = new Map<string, number>();
  const terminalFailures = new Map<string, number>();
  const anyEntry = new Set<string>();
  let failed = 0;
  for (const entry of audits) {
    const base = entry.cycleId.split('/')[0] as string;
    anyEntry.add(base);
    if (entry.outcome === 'completed') {
      completed.set(entry.cycleId, (completed.get(entry.cycleId) ?? 0) + 1);
      if (!known.has(entry.cycleId))
        problems.push(
          `${label}: completed audit entry for cycle ${entry.cycleId}, an id no runner was handed`,
        );
      continue;
    }
    failed += 1;
    if (/\/restarted@/.test(entry.cycleId)) terminalFailures.set(base, (terminalFailures.get(base) ?? 0) + 1);
    else if (!/\/error@/.test(entry.cycleId) && !entry.cycleId.startsWith('run:'))
      problems.push(`${label}: failed audit entry ${entry.cycleId} of no known form`);
    else if (!entry.cycleId.startsWith('run:') && !known.has(base))
      problems.push(`${label}: failed audit entry ${entry.cycleId} for an id no runner was handed`);
  }
  let lost = 0;
  for (const [i, cycle] of handed.entries()) {
    const terminal = (completed.get(cycle.cycleId) ?? 0) + (terminalFailures.get(cycle.cycleId) ?? 0);
    if (terminal === 1) continue;
    if (terminal === 0 && !anyEntry.has(cycle.cycleId) && lostBeforeSaved(ledger, handed, seen, i)) {
      lost += 1;
      continue;
    }
    problems.push(
      `${label}: cycle ${cycle.cycleId} (round ${cycle.round}) has ${terminal} terminal audit entries (${completed.get(cycle.cycleId) ?? 0} completed), expected exactly 1`,
    );
  }
  for (let round = 0; round < rounds; round++) {
    const ids = ledger.roundIds(key, round);
    const n = ids.reduce((sum, id) => sum + (completed.get(id) ?? 0), 0);
    if (n !== 1)
      problems.push(
        `${label}: round ${round} ended with ${n} completed audit entries (ids handed out: ${ids.length}), expected exactly 1`,
      );
  }
  const total = [...completed.values()].reduce((a, b) => a + b, 0);
  return { problems, completed: total, failed, lost };
}

function lostBeforeSaved(
  ledger: CycleLedger,
  handed: HandedCycle[],
  seen: SeenRecord[],
  index: number,
): boolean {
  const cycle = handed[index] as HandedCycle;
  if (!ledger.killed.has(cycle.generation)) return false;
  const laterSameProcess = handed.slice(index + 1).some((c) => c.generation === cycle.generation);
  if (laterSameProcess) return false;
  const next = seen.find((s) => s.generation > cycle.generation);
  return (
    next !== undefined &&
    next.state === 'idle' &&
    next.cycleId !== cycle.cycleId &&
    next.lastAuditCycleId !== cycle.cycleId
  );
}
