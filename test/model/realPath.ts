/** The model's paths as the real system runs them: its instants, and the inputs every real path starts with. */
import type { ConnectionCommand } from '../../src/machines/connectionContext.ts';
import type { PhaseFailure } from '../../src/machines/phases.ts';
import { MODEL_TIMES, type ModelPath, type ModelStep } from './paths.ts';
import { MODEL_WAIT_AFTER_429_MS, quotaResetAfter, type WorldInputs } from './realSystem.ts';

const DAY_MS = 86_400_000;
export const iso = (ms: number) => new Date(ms).toISOString();
/** Every window ends a day after the engine's clock: edits the simulator stamps in real time fall inside. */
export const windowTo = (t0: number) => iso(t0 + DAY_MS);
/** Later than any backoff: the 15-minute cap, or the quota reset at the next UTC midnight. */
export const longAfter = (t0: number) => iso(t0 + 7 * DAY_MS);

/**
 * The path with the model's instants replaced by the real system's: the engine's clock is frozen at `t0`,
 * so a real failure is dated `t0`, a real 429 carries the client's wait and a spent quota resets at the
 * next UTC midnight. Contract checks in `runPath` then compare against what the real system produces.
 */
export function realPath(path: ModelPath, t0: number): ModelPath {
  const steps = path.steps.map((step): ModelStep => {
    if (step.kind === 'command') {
      const event: ConnectionCommand =
        step.event.type === 'sync.requested'
          ? { ...step.event, now: iso(t0), windowTo: windowTo(t0) }
          : step.event.type === 'sync.resume'
            ? { ...step.event, now: step.event.now === MODEL_TIMES.failedAt ? iso(t0) : longAfter(t0) }
            : step.event;
      return { ...step, event };
    }
    if (step.kind === 'phase' && !step.outcome.ok) {
      const f = step.outcome.failure;
      const at = iso(t0);
      const failure: PhaseFailure =
        f.kind === 'rate_limited'
          ? { ...f, at, retryAfterMs: MODEL_WAIT_AFTER_429_MS }
          : f.kind === 'quota_exhausted'
            ? { ...f, at, resumeAt: quotaResetAfter(t0) }
            : { ...f, at };
      return { ...step, outcome: { ok: false, failure } };
    }
    return step;
  });
  return { ...path, steps };
}

/** The inputs of a model path: one edit on each side, engagement with a duplicate event, and a lead. */
export const pathInputs = (): WorldInputs => ({
  crmEdits: [101],
  localEdits: [{ externalId: 'OXF25000001', firstName: 'Morwenna' }],
  events: [
    { eventId: 'ev-1', externalId: 'OXF25000002', kind: 'email_open' },
    { eventId: 'ev-1', externalId: 'OXF25000002', kind: 'email_open' },
    { eventId: 'ev-2', externalId: 'OXF25000002', kind: 'email_click' },
  ],
  leads: ['nia.lead@example.org'],
});

/** Distinct events per CRM record, as the counters must show them. */
export function distinctEvents(inputs: WorldInputs[]): Map<string, { opens: number; clicks: number }> {
  const seen = new Map<string, { externalId: string; kind: string }>();
  for (const e of inputs.flatMap((i) => i.events)) if (!seen.has(e.eventId)) seen.set(e.eventId, e);
  const counts = new Map<string, { opens: number; clicks: number }>();
  for (const { externalId, kind } of seen.values()) {
    const c = counts.get(externalId) ?? { opens: 0, clicks: 0 };
    if (kind === 'email_open') c.opens += 1;
    else c.clicks += 1;
    counts.set(externalId, c);
  }
  return counts;
}
