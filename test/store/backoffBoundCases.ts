import { expect, it } from 'vitest';
import { z } from 'zod';
import type { StoreHandle } from '../../src/persistence/store.ts';
import { unwrap } from './backends.ts';
import { at, tenantWithConnection } from './fixtures.ts';

/** A machine in backoff, as persisted: failed at `failedAt`, resuming at `resumeAt`. */
function backoffSnapshot(kind: 'rate_limited' | 'quota_exhausted', failedAt: Date, resumeAt: Date) {
  return {
    status: 'active',
    value: 'backoff',
    context: {
      attempt: kind === 'rate_limited' ? 1 : 0,
      resumeAt: resumeAt.toISOString(),
      resumePhase: 'fetching',
      lastError: { kind, message: '429', status: 429, phase: 'fetching', at: failedAt.toISOString() },
    },
  };
}

/** `boundNextRuns` on machines in backoff: cases of `describeStore`, on its shared store. */
export function backoffBoundCases(shared: () => StoreHandle) {
  it('brings a backoff within its own wait of now, a daily quota within the next UTC midnight', async () => {
    const store = shared();
    const midnight = new Date('2025-06-02T00:00:00.000Z');
    const inBackoff = async (kind: 'rate_limited' | 'quota_exhausted', resumeAt: Date) => {
      const { ref } = await tenantWithConnection(store);
      const snapshot = backoffSnapshot(kind, at(0), resumeAt);
      unwrap(
        await store.saveSnapshot({
          ...ref,
          machineVersion: '1',
          snapshot,
          stateValue: 'backoff',
          now: at(0),
        }),
      );
      unwrap(await store.setNextRun({ ...ref, nextRunAt: resumeAt }));
      return ref;
    };
    const limited = await inBackoff('rate_limited', at(30));
    const quota = await inBackoff('quota_exhausted', midnight);
    const stateOf = async (ref: typeof limited) => {
      const snapshot = unwrap(await store.loadSnapshot(ref))?.snapshot;
      const context = z.object({ context: z.object({ resumeAt: z.string() }) }).parse(snapshot).context;
      return { nextRunAt: unwrap(await store.getConnection(ref)).nextRunAt, resumeAt: context.resumeAt };
    };

    // No step: the wait asked is waited in full.
    unwrap(await store.boundNextRuns({ now: at(10) }));
    expect(await stateOf(limited)).toEqual({ nextRunAt: at(30), resumeAt: at(30).toISOString() });
    expect(await stateOf(quota)).toEqual({ nextRunAt: midnight, resumeAt: midnight.toISOString() });

    // The clock stepped back a day; the run of the one that holds a live lease schedules it itself.
    const stepped = at(-86_400);
    unwrap(await store.acquireLease({ ...limited, owner: 'host-a:1:a', ttlMs: 60_000, now: stepped }));
    unwrap(await store.boundNextRuns({ now: stepped }));
    expect(await stateOf(limited)).toEqual({ nextRunAt: at(30), resumeAt: at(30).toISOString() });
    unwrap(await store.releaseLease({ ...limited, owner: 'host-a:1:a' }));

    unwrap(await store.boundNextRuns({ now: stepped }));
    expect(await stateOf(limited)).toEqual({ nextRunAt: at(-86_370), resumeAt: at(-86_370).toISOString() });
    const previousMidnight = new Date('2025-06-01T00:00:00.000Z');
    expect(await stateOf(quota)).toEqual({
      nextRunAt: previousMidnight,
      resumeAt: previousMidnight.toISOString(),
    });
  });
}
