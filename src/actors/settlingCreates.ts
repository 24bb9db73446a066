import { providerLabels } from '../core/providerName.ts';
import type { PhaseFailure } from '../machines/phases.ts';
import type { PushEntry } from '../persistence/records.ts';
import type { CrmProvider } from '../providers/provider.ts';
import { WRITE_TIME_LIMIT_MS } from '../providers/spec.ts';

/**
 * How long after a create is sent the CRM may have applied it and not show it yet: its `createSettleMs`. For a run
 * that took a live lease over (`PhaseDeps.tookOverLiveLease`), the create's time limit first: its holder, found
 * gone, may be alive and waiting for the create's answer (a write once sent is not cut by a stop), or have died with
 * the create on its way, and the CRM may apply it after a look now. Looked for at once and not found, it was sent
 * again and the CRM held the person twice. ASSUMPTION: a CRM applies a write within the time our client waits.
 */
export function settleWindowMs(createSettleMs: number, tookOverLiveLease: boolean): number {
  return (tookOverLiveLease ? WRITE_TIME_LIMIT_MS : 0) + createSettleMs;
}

/** Whether a create sent before may be one the CRM has applied but does not show yet (`settleWindowMs`). */
export function mayStillBeApplying(entry: PushEntry, windowMs: number, now: Date): boolean {
  return entry.sentAt !== null && now.getTime() - entry.sentAt.getTime() < windowMs;
}

/**
 * The phase's failure for creates not found while the CRM may still be applying them: transient, so the machine
 * backs off and retries, and the audit lists it as a retry, not a refusal.
 */
export function settlingFailure(
  provider: CrmProvider,
  entries: PushEntry[],
  at: Date,
  tookOverLiveLease: boolean,
): PhaseFailure {
  const { createSettleMs } = provider.capabilities;
  // One backoff until the last of them may show, not several shorter ones each spending an attempt.
  const lastSent = entries.reduce((latest, entry) => Math.max(latest, entry.sentAt?.getTime() ?? 0), 0);
  const windowMs = settleWindowMs(createSettleMs, tookOverLiveLease);
  const untilShown = Math.max(0, lastSent + windowMs - at.getTime());
  const [first] = entries as [PushEntry, ...PushEntry[]];
  const sentAt = first.sentAt?.toISOString() ?? 'an unknown time';
  const others = entries.length - 1;
  const more = others === 0 ? '' : ` (and ${others} other create${others === 1 ? '' : 's'})`;
  const crm = providerLabels[provider.name];
  const onItsWay = tookOverLiveLease
    ? `sent by a run found gone, it may reach ${crm} until its ${WRITE_TIME_LIMIT_MS / 1000} s time limit, and `
    : '';
  const settleSeconds = Math.ceil(createSettleMs / 1000);
  const shows =
    createSettleMs === 0
      ? `${crm} shows it once applied`
      : `${crm} can take up to ${settleSeconds} s to show a new contact`;
  return {
    kind: 'transient',
    status: null,
    at: at.toISOString(),
    retryAfterMs: untilShown,
    message:
      `create of contact ${first.contactId} sent at ${sentAt}${more} may still be being applied by ${crm}: ` +
      `not found yet; ${onItsWay}${shows}; ` +
      'looked for again after the backoff',
  };
}
