import { err, ok, type Result } from '../../core/result.ts';
import { type Address, type CanonicalContact, canonicalContactSchema } from '../../core/schemas.ts';
import { countryCodeOf } from '../countryCode.ts';
import type { InboundRecord, InboundRecordError } from '../provider.ts';
import { recordError, textOrNull } from '../records.ts';
import { type AgentosApplicant, type AgentosProspect, agentosApplicantSchema } from './schemas.ts';

/**
 * A raw applicant → an inbound record. agentOS records carry no modified value, so every record of one
 * listing gets the same `modified`: the listing's snapshot stamp (see `snapshotStamp` in adapter.ts).
 */
export function toInboundRecord(raw: unknown, stamp: string): Result<InboundRecord, InboundRecordError> {
  const wire = agentosApplicantSchema.safeParse(raw);
  if (!wire.success) return err(recordError(raw, wire.error, 'OID'));
  const r = wire.data;
  // [G2]: without third-party-marketing consent no personal data comes back. We may not hold what we
  // cannot see: the record is reported removed (never deleted) with its personal fields empty, and its details
  // come back when consent is given again. agentOS holds no status: the contact's is never set from it.
  const consented = r.ThirdPartyMarketing;
  const contact = canonicalContactSchema.safeParse(
    consented
      ? {
          title: textOrNull(r.Title),
          firstName: textOrNull(r.Forename),
          lastName: textOrNull(r.Surname),
          email: textOrNull(r.EmailAddress),
          mobilePhone: textOrNull(r.MobilePhone),
          homePhone: textOrNull(r.HomePhone),
          workPhone: textOrNull(r.WorkPhone),
          address: toAddress(r.Address),
          marketingConsent: 'grant',
        }
      : { marketingConsent: 'deny', status: 'archived' },
  );
  if (!contact.success) return err(recordError(raw, contact.error, 'OID'));
  return ok({
    externalId: r.OID,
    modified: stamp,
    version: null,
    contact: contact.data,
    removed: !consented,
  });
}

/** Number and first line fold into canonical `line1`; town (Address3) → line3, county (Address4) → line4. */
function toAddress(address: AgentosApplicant['Address']): Address | null {
  if (!address) return null;
  const line1 = textOrNull(
    [address.AddressNumber, address.Address1].map(textOrNull).filter(Boolean).join(' '),
  );
  const result: Address = {
    line1,
    line2: textOrNull(address.Address2),
    line3: textOrNull(address.Address3),
    line4: textOrNull(address.Address4),
    postcode: textOrNull(address.Postcode),
    // ASSUMPTION: Country is an ISO alpha-2 code when present; UK names ("United Kingdom", "UK") map to GB.
    countryCode: countryCodeOf(textOrNull(address.Country)),
  };
  return Object.values(result).every((v) => v === null) ? null : result;
}

/**
 * The applicant a prospect becomes, as the listing will show it (ASSUMPTION: the prospect's fields, no address,
 * as the simulator keeps them): what the engine records as the base of a record it created.
 */
export function listedProspect(prospect: AgentosProspect): CanonicalContact | undefined {
  const { BranchID, ...fields } = prospect;
  const listed = toInboundRecord({ ...fields, OID: 'created', BranchOID: BranchID }, '');
  return listed.ok ? listed.value.contact : undefined;
}

/** A canonical contact → the prospect POST body [G4]. Absent values are sent as empty strings. */
export function toProspect(contact: CanonicalContact, branchId: string): AgentosProspect {
  return {
    Title: contact.title ?? '',
    Forename: contact.firstName ?? '',
    Surname: contact.lastName ?? '',
    EmailAddress: contact.email ?? '',
    MobilePhone: contact.mobilePhone ?? '',
    HomePhone: contact.homePhone ?? '',
    WorkPhone: contact.workPhone ?? '',
    BranchID: branchId,
    ThirdPartyMarketing: contact.marketingConsent === 'grant',
  };
}
