import { providerLabels } from '../core/providerName.ts';
import type { PhaseFailure } from '../machines/phases.ts';
import type { PushEntry } from '../persistence/records.ts';
import type { CrmProvider } from '../providers/provider.ts';

/**
 * Until when a create sent before may be one the CRM has applied but does not show yet: `createSettleMs` after it
 * last may have reached the CRM. That is when it was sent, unless a run took the connection's live lease over from
 * a holder found gone since (`writesLandBy`, that holder's lease expiry): a create sent before then may be one the
 * holder was still waiting on (a write once sent is not cut by a stop), sent again after a 429's wait, or on its way
 * when it died. Looked for at once and not found, it was sent again and the CRM held the person twice.
 */
export function shownBy(entry: PushEntry, createSettleMs: number, writesLandBy: Date | null): number | null {
  if (entry.sentAt === null) return null;
  const sentAt = entry.sentAt.getTime();
  const landsBy = writesLandBy === null ? sentAt : Math.max(sentAt, writesLandBy.getTime());
  return landsBy + createSettleMs;
}

/** Whether a create sent before may be one the CRM has applied but does not show yet (`shownBy`). */
export function mayStillBeApplying(
  entry: PushEntry,
  createSettleMs: number,
  now: Date,
  writesLandBy: Date | null,
): boolean {
  const by = shownBy(entry, createSettleMs, writesLandBy);
  return by !== null && now.getTime() < by;
}

/**
 * The phase's failure for creates not found while the CRM may still be applying them: transient, so the machine
 * backs off and retries, and the audit lists it as a retry, not a refusal.
 */
export function settlingFailure(
  provider: CrmProvider,
  entries: PushEntry[],
  at: Date,
  writesLandBy: Date | null,
): PhaseFailure {
  const { createSettleMs } = provider.capabilities;
  // One backoff until the last of them may show, not several shorter ones each spending an attempt.
  const lastShown = entries.reduce(
    (latest, entry) => Math.max(latest, shownBy(entry, createSettleMs, writesLandBy) ?? 0),
    0,
  );
  const untilShown = Math.max(0, lastShown - at.getTime());
  const [first] = entries as [PushEntry, ...PushEntry[]];
  const sentAt = first.sentAt?.toISOString() ?? 'an unknown time';
  const others = entries.length - 1;
  const more = others === 0 ? '' : ` (and ${others} other create${others === 1 ? '' : 's'})`;
  const crm = providerLabels[provider.name];
  // Sent before a holder found gone could write no more, it may be one of its own, on its way till then.
  const landing = entries.some((e) => e.sentAt !== null && writesLandBy !== null && e.sentAt < writesLandBy);
  const onItsWay = landing
    ? `sent before ${writesLandBy?.toISOString()}, till when writes of a run found gone may still reach ${crm}, and `
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
