import { randomUUID } from 'node:crypto';
import type { Store } from '../../src/persistence/store.ts';

/** The `n`th of a large entry's suppressed duplicates. */
export const suppressedDuplicate = (n: number) => ({
  incoming: `RPT${String(n).padStart(7, '0')}`,
  matched: `RPT${String(n + 1).padStart(7, '0')}`,
  reason: `duplicate of reapit record RPT${String(n + 1).padStart(7, '0')} in the same batch`,
});

/**
 * Commits a completed cycle for the connection whose audit entry lists `count` suppressed duplicates and
 * nothing else, as a first sync of a large CRM does; returns the entry's id and its duplicates.
 */
export async function commitDuplicatesAudit(
  store: Store,
  ref: { tenantId: string; connectionId: string },
  count: number,
) {
  const duplicates = Array.from({ length: count }, (_, n) => suppressedDuplicate(n));
  const now = new Date().toISOString();
  const committed = await store.commitCycle({
    ...ref,
    audit: {
      cycleId: randomUUID(),
      window: { from: null, to: now },
      fetched: count * 5,
      written: { created: 0, updated: 0, unchanged: 0 },
      conflicts: [],
      duplicatesSuppressed: duplicates,
      errors: [],
      startedAt: now,
      finishedAt: now,
      outcome: 'completed',
    },
  });
  if (!committed.ok) throw new Error(committed.error.message);
  return { auditId: committed.value.auditId, duplicates };
}
