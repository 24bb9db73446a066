import { type CanonicalContact, type ContactField, crmOwnedFields } from './schemas.ts';

/** A person's details: the CRM's fields but for its status and the consent, which a removed record does give. */
const detailFields: readonly ContactField[] = crmOwnedFields.filter(
  (field) => field !== 'status' && field !== 'marketingConsent',
);

/**
 * Whether a record the CRM lists as removed withholds the person's details rather than clearing them: it holds none
 * at all, as agentOS lists a person who withdrew third-party-marketing consent (their details are no longer shown
 * to us, not emptied in agentOS). A record in a CRM's trash (Street) still shows them.
 */
export function withholdsDetails(record: { removed: boolean; contact: CanonicalContact }): boolean {
  return record.removed && detailFields.every((field) => record.contact[field] === null);
}

/**
 * The record read for the merge with the details it withholds taken as the link's base, unchanged: the removal
 * then comes in as the consent and status it gives, and clears nothing (pure).
 */
export function withheldAsUnchanged(crm: CanonicalContact, base: CanonicalContact): CanonicalContact {
  const read: Record<ContactField, unknown> = { ...crm };
  for (const field of detailFields) read[field] = base[field];
  return read as CanonicalContact;
}
