import { providerLabels } from '../core/providerName.ts';
import type { PhaseFailure } from '../machines/phases.ts';
import type { PushEntry } from '../persistence/records.ts';
import type { CrmProvider } from '../providers/provider.ts';

/** Whether a create sent before may be one the CRM has applied but does not show yet (`createSettleMs`). */
export function mayStillBeApplying(entry: PushEntry, createSettleMs: number, now: Date): boolean {
  return entry.sentAt !== null && now.getTime() - entry.sentAt.getTime() < createSettleMs;
}

/**
 * The phase's failure for creates not found while the CRM may still be applying them: transient, so the machine
 * backs off and retries, and the audit lists it as a retry, not a refusal.
 */
export function settlingFailure(provider: CrmProvider, entries: PushEntry[], at: Date): PhaseFailure {
  const { createSettleMs } = provider.capabilities;
  // One backoff until the last of them may show, not several shorter ones each spending an attempt.
  const lastSent = entries.reduce((latest, entry) => Math.max(latest, entry.sentAt?.getTime() ?? 0), 0);
  const untilShown = Math.max(0, lastSent + createSettleMs - at.getTime());
  const [first] = entries as [PushEntry, ...PushEntry[]];
  const sentAt = first.sentAt?.toISOString() ?? 'an unknown time';
  const others = entries.length - 1;
  const more = others === 0 ? '' : ` (and ${others} other create${others === 1 ? '' : 's'})`;
  const crm = providerLabels[provider.name];
  const settleSeconds = Math.ceil(createSettleMs / 1000);
  return {
    kind: 'transient',
    status: null,
    at: at.toISOString(),
    retryAfterMs: untilShown,
    message:
      `create of contact ${first.contactId} sent at ${sentAt}${more} may still be being applied by ${crm}: ` +
      `not found yet, and ${crm} can take up to ${settleSeconds} s to show a new contact; ` +
      'looked for again after the backoff',
  };
}
