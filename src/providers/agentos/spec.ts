import { defineSpec } from '../spec.ts';

/** agentOS (MRI, formerly LetMC) V4 API. Sources in docs/providers.md (agentOS) and research [G1]–[G6]. */
export const agentosSpec = defineSpec({
  // [G3]: 50 requests a minute per API key, rolling 60-second window (each slot returns 60 s after use).
  limits: { requestsPerMinute: 50, rolling: true },
  retry: {
    // [G3]: no Retry-After is documented; after a 429 wait 60 s, then resume. Never less, whatever a header says:
    // repeated requests after a 429 may get the key blocked (403) as an attack [G3].
    waitAfter429Ms: 60_000,
    waitAfter429IsLeast: true,
    // ASSUMPTION: two retries; each costs a full minute, and the machine's backoff takes over after that.
    maxAttempts: 3,
  },
  // [G1]: offset + count, count ≤ 1,000; [G2][G6]: path segments `/{offset}/{count}`.
  // The adapter asks for `defaultPageSize` per page (1,000: at 50 requests a minute, fewer calls matter most).
  pagination: { type: 'offset', maxPageSize: 1_000, defaultPageSize: 1_000 },
  // No search: no call puts personal data in its URL (paths carry tiers, offsets, branch and record ids).
  personalQueryParams: [],
  // ASSUMPTION: agentOS runs ASP.NET Web API (its Swagger at `/swagger/ui/index`, `/swagger/docs/…` is Swashbuckle's
  // [G1][G5]), whose errors are `{ Message }`, plus `ModelState: { <field>: [messages] }` when a request fails
  // validation; no error body is published. `Message` and the messages are free text (model binding quotes the
  // rejected value): only the field names show.
  errorBody: { kind: [], fields: ['ModelState{}'] },
  capabilities: {
    // [G2]: no modified-since filter on the V4 contacts listings: every cycle lists everything and the engine
    // drops records whose content hash equals the stored link's.
    deltaMode: 'snapshotDiff',
    // [G4]: writes are POSTs of prospects (applicants); the API links a POST to an existing contact with the
    // same e-mail instead of creating a duplicate. No PUT/PATCH for contacts.
    writeMode: 'postOnly',
    canCreate: true,
    canUpdate: false,
    // Not documented [G2]; a full listing scan is not a search (see docs/providers.md, agentOS).
    canSearchByEmail: false,
    // [G4], above: a prospect whose e-mail exists is linked to that contact.
    createMergesByEmail: true,
    // [G2]: `/applicants/lettings/{lettingsApplicantID}` reads one; the engine reads the contact a prospect was
    // linked to (200), which may be another person sharing the e-mail.
    canGetRecord: true,
    // Nothing documented [G4]; a repeated prospect is merged by e-mail in any case.
    createSettleMs: 0,
    maxPageSize: 1_000,
    // [G4] names the prospect fields Title, Forename, Surname, EmailAddress, MobilePhone, HomePhone, WorkPhone.
    // ASSUMPTION: the applicant listing returns the same names plus an `Address` block; consent comes from
    // `ThirdPartyMarketing` [G2]. Engagement fields have nowhere to live.
    storedFields: [
      'title',
      'firstName',
      'lastName',
      'email',
      'mobilePhone',
      'homePhone',
      'workPhone',
      'address',
      'marketingConsent',
    ],
    // No update at all: nothing is writable after creation.
    writableFields: [],
  },
});

/**
 * The API tiers (the `{tier}` of `/v4/{tier}/{shortName}/…` [G1]) the adapter calls: reads list applicants in the
 * contacts tier [G2], creates post prospects in the applications tier [G4]. The agency enables tiers per key;
 * a key that does not reach a tier gets 401 there [G1], so a key may read and still be refused every write.
 */
export const AGENTOS_TIERS = { read: 'contacts', write: 'applications' } as const;
export type AgentosTier = (typeof AGENTOS_TIERS)[keyof typeof AGENTOS_TIERS];

/**
 * ASSUMPTION: after hammering past a 429 the key is blocked with 403 "for a while" [G3]; the duration is not
 * published. The client treats a 403 as that block and waits five post-429 waits (5 minutes documented).
 */
export const AGENTOS_BLOCK_WAITS = 5;
