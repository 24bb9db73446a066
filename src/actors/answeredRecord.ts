import { toMatchRecord } from '../core/dedup/matchRecord.ts';
import { isConflict, type PairScore, scorePair } from '../core/dedup/scorePair.ts';
import { matchFields } from '../core/dedup/weights.ts';
import { isEmpty } from '../core/merge.ts';
import { providerLabels } from '../core/providerName.ts';
import { ok, type Result } from '../core/result.ts';
import { type CanonicalContact, contactFields } from '../core/schemas.ts';
import type { ProviderError, ProviderName, RecordRead } from '../providers/provider.ts';
import type { PhaseDeps } from './context.ts';
import { describeMatch } from './inboundOwners.ts';

/** Whether a record the CRM answered a create with is the contact's person; `why` names what tells them apart. */
export type AnsweredPerson =
  | { kind: 'same'; held: CanonicalContact; why: string }
  | { kind: 'other'; why: string };

/**
 * Reads the record a CRM answered a create with, one it already held (agentOS's prospect matched by e-mail, Alto's
 * 409 on surname and e-mail), and scores it against the contact sent with the matcher reconcile uses. The CRM's
 * own rule is looser than one person: a couple sharing an address, or the agency's record of the lead's partner.
 */
export async function answeredPerson(
  deps: PhaseDeps,
  externalId: string,
  sent: { contactId: string; contact: CanonicalContact },
  signal: AbortSignal,
): Promise<Result<AnsweredPerson, ProviderError>> {
  const read = await deps.provider.getRecord({ externalId, signal });
  return read.ok ? ok(samePerson(sent, read.value)) : read;
}

/** Pure: the same person when the pair scores as a match; a record listed removed shows too little to tell. */
function samePerson(
  sent: { contactId: string; contact: CanonicalContact },
  record: RecordRead,
): AnsweredPerson {
  if (record.removed) return { kind: 'other', why: 'it is listed as removed, without the details to tell' };
  const pair = scorePair(
    toMatchRecord(sent.contactId, sent.contact),
    toMatchRecord(record.externalId, record.contact),
  );
  return pair.isMatch
    ? { kind: 'same', held: record.contact, why: describeMatch(pair) }
    : { kind: 'other', why: describeMismatch(pair) };
}

/**
 * The base of a link to a record the CRM already held, so that the next fetch merges it as a first link would (see
 * docs/sync-semantics.md, "First link"): where the record is empty the base is too, so the lead's value there is not
 * read as the agency clearing it; elsewhere it is the contact sent, so the record's differing value reads as the
 * CRM's change and wins a field the CRM owns.
 */
export function heldRecordBase(sent: CanonicalContact, held: CanonicalContact): CanonicalContact {
  const base: Record<string, unknown> = { ...sent };
  for (const field of contactFields) if (isEmpty(field, held[field])) base[field] = held[field];
  return base as CanonicalContact;
}

/** The rule that kept the pair apart (with the score when it fell short), the fields that differ and that agree. */
function describeMismatch(pair: PairScore): string {
  const rule = isConflict(pair.rule) ? pair.rule : `${pair.rule}, score ${pair.score.toFixed(1)}`;
  const differs = matchFields.filter((field) => pair.levels[field] === 'different');
  return `${rule}; differs: ${differs.join(', ') || 'nothing'}; agrees: ${pair.agreedFields.join(', ') || 'nothing'}`;
}

/** The note of a create refused because the CRM answered with another person's record, saying what to do. */
export function otherPersonMessage(
  provider: ProviderName,
  contactId: string,
  externalId: string,
  why: string,
): string {
  const crm = providerLabels[provider];
  return (
    `create of contact ${contactId} refused; sent again when the contact changes: ${crm} answered with record ` +
    `${externalId}, which is another person (${why}); not linked: give the lead an e-mail of its own, or merge ` +
    `the two in ${crm} if they are one person`
  );
}
