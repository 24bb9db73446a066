import { defineSpec } from '../spec.ts';

/**
 * Alto (Zoopla / Houseful) contacts API. Sources in docs/providers.md (Alto) and research [A1]–[A4].
 * Alto publishes no rate limit and declares no 429 [A4]: the limits below are an ASSUMED budget.
 */
export const altoSpec = defineSpec({
  // ASSUMPTION: 10 requests/second, 5 in flight, rolling. Nothing is published [A4]; chosen well under what an
  // ASP.NET API gateway of this kind usually tolerates, and configurable per connection (`withSpec`).
  limits: { requestsPerSecond: 10, maxConcurrent: 5, rolling: true },
  retry: {
    // [A4]: no Retry-After or rate-limit headers. ASSUMPTION: wait one full 1-second window and retry.
    waitAfter429Ms: 1_000,
    maxAttempts: 4,
  },
  // [A1]: `max-results` default 50, maximum 250; `next-token` cursor.
  pagination: { type: 'cursor', maxPageSize: 250, defaultPageSize: 50 },
  // `findByEmail` sends the address as `query` on `GET /contacts/search` [A1].
  personalQueryParams: ['query'],
  // [A1]: `{ errors: [{ code, message }] }` on contacts operations: the codes. [A4]: other Alto subsystems answer
  // ASP.NET ProblemDetails `{ type, title, status, detail, instance }`: the type and title (RFC 9457: the same for
  // every occurrence of a problem type); `message` and `detail` are per call and may quote values. ASSUMPTION:
  // a validation ProblemDetails carries ASP.NET's `errors: { <field>: [messages] }`: its keys, the field names.
  errorBody: { kind: ['errors[].code', 'type', 'title'], fields: ['errors{}'] },
  // [A1]: scopes are per route (`alto/route:get-contacts-all`), so a client without a write route's scope is refused
  // that route alone. A wrong AgencyRef is a 403 on every route [A4]: the probe is refused too, `auth_failed`.
  writeScope: {
    statuses: [403],
    probe: '/contacts/all?max-results=1',
    grant:
      'grant this client the scopes of the contacts write routes (alto/route:…, for POST /contacts, ' +
      'PATCH /contacts/{id} and PATCH /contacts/{id}/persons/{personId}) in Alto',
  },
  capabilities: {
    // `GET /contacts/all` with `modified-from`/`modified-to` and a `next-token` cursor [A1].
    deltaMode: 'cursorToken',
    // RFC 6902 JSON Patch on `/contacts/{id}` and `/contacts/{id}/persons/{personId}`; no ETag/If-Match [A1].
    writeMode: 'jsonPatch',
    canCreate: true,
    canUpdate: true,
    // `GET /contacts/search?query=` matches e-mail addresses [A1].
    canSearchByEmail: true,
    // Alto's 409 on a duplicate create [A1] names no rule; the search is asked first.
    createMergesByEmail: false,
    // `GET /contacts/{id}` [A1]: the engine reads the record a 409 names, which may be another person.
    canGetRecord: true,
    // [A1]: `GET /contacts?id=…`, up to 50 ids (answered as an array: ASSUMPTION, docs/providers.md).
    maxIdsPerRead: 50,
    // [A1]: the 201 carries the created Contact: the record exists when the create is answered.
    createSettleMs: 0,
    maxPageSize: 250,
    // What `ContactListItem` carries: the first person's title/names and first phone/e-mail, and `isActive` [A1].
    // Not stored (the delta feed does not carry them): address and date of birth (address only on the full
    // Contact; no date of birth anywhere), work phone (only the first phone is listed, untyped), marketing
    // consent (a separate per-contact preferences resource [A1]; see docs/providers.md, "Alto: marketing
    // consent"), and every engagement field (no documented place for app data).
    storedFields: ['title', 'firstName', 'lastName', 'email', 'mobilePhone', 'homePhone', 'status'],
    // Person paths `/Title`, `/Forename`, `/Surname`, `/EmailAddresses`; contact path `/Active` [A1].
    // Phones are read as one untyped number, so writing typed phone lists could not be read back: not writable.
    writableFields: ['title', 'firstName', 'lastName', 'email', 'status'],
  },
});

/**
 * ASSUMPTION: Alto stamps `modifiedAt` with 7 fractional digits (.NET ticks, `…30.0000000+00:00` [A1]) but filters
 * (`modified-from`/`modified-to`) and lists at the millisecond, so the records of one millisecond come in no order
 * of the digits below it. A listing anchor treats each millisecond as one instant (docs/providers.md, "Alto:
 * completeness").
 */
export const ALTO_LISTING_GRAIN_MS = 1;

/**
 * The contact categories NurtureHub syncs. Alto files the agency's solicitors, banks, surveyors and other suppliers
 * as contacts too, and a guarantor as a `ContactRelationship`, "a non-marketable relationship contact" [A1]: only
 * its clients (applicants, vendors, landlords, tenants) and previous clients (a past vendor may sell again) are
 * people to nurture. The listing's `category` and the search's `contact-type` take one value each [A1], so neither
 * is asked: an item filed under another category is dropped on our side.
 */
export const ALTO_SYNCED_CATEGORIES: ReadonlySet<string> = new Set(['Client', 'PreviousClient']);

/** Longest text Alto's `Person` request takes per field [A1] (`Requests.Person`: `maxLength`). */
export const ALTO_PERSON_LIMITS = { title: 20, forename: 50, surname: 50 } as const;

/** Longest text Alto's `Address` request takes per field [A1] (`Requests.Address`: `maxLength`). */
export const ALTO_ADDRESS_LIMITS = {
  subDwelling: 50,
  nameNumber: 50,
  street: 50,
  locality: 50,
  town: 50,
  county: 50,
  postcode: 20,
  countryCode: 2,
} as const;
