import type { CanonicalContact } from './schemas.ts';

/** The engagement fields an imported line can bring to a contact it matches. */
export type ImportedEngagementField =
  | 'emailOpens'
  | 'emailClicks'
  | 'lastOpenedAt'
  | 'lastClickedAt'
  | 'intentScore'
  | 'nurtureSequence';

const later = (a: string | null, b: string | null): string | null =>
  a === null ? b : b === null ? a : Date.parse(b) > Date.parse(a) ? b : a;

/**
 * A `contact import` line that matches a contact already held is not created, but its engagement is NurtureHub's
 * own (a lead's opens, score and enrolment), so it is kept rather than discarded. Counters take the higher count
 * and last opens and clicks the later instant (not the sum: importing the same file again changes nothing); an
 * intent score or nurture sequence the contact already has stays, one it lacks is the line's. Contact fields are
 * not touched (the CRM owns them), but for a withdrawal of marketing consent: the person told NurtureHub to stop,
 * which the sync keeps over a CRM's grant (docs/sync-semantics.md); dropped, they were marketed to again. Returns the
 * contact with the line folded in and the fields that changed (none: the contact as it was).
 */
export function foldImportedEngagement(
  held: CanonicalContact,
  line: CanonicalContact,
): { contact: CanonicalContact; changed: Array<ImportedEngagementField | 'marketingConsent'> } {
  const folded: CanonicalContact = {
    ...held,
    emailOpens: Math.max(held.emailOpens, line.emailOpens),
    emailClicks: Math.max(held.emailClicks, line.emailClicks),
    lastOpenedAt: later(held.lastOpenedAt, line.lastOpenedAt),
    lastClickedAt: later(held.lastClickedAt, line.lastClickedAt),
    intentScore: held.intentScore ?? line.intentScore,
    nurtureSequence: held.nurtureSequence ?? line.nurtureSequence,
    marketingConsent: line.marketingConsent === 'deny' ? 'deny' : held.marketingConsent,
  };
  const fields = [
    'emailOpens',
    'emailClicks',
    'lastOpenedAt',
    'lastClickedAt',
    'intentScore',
    'nurtureSequence',
    'marketingConsent',
  ] as const;
  const changed = fields.filter((field) => folded[field] !== held[field]);
  return { contact: changed.length === 0 ? held : folded, changed };
}
