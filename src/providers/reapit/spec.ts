import { contactFields } from '../../core/schemas.ts';
import { defineSpec } from '../spec.ts';

/** Reapit Foundations Platform API, contacts. Sources in docs/providers.md (Reapit) and research [R1][R3]. */
export const reapitSpec = defineSpec({
  // [R1]: 20 requests/second and 5 concurrent per customer, 250,000 requests/day; excess → 429.
  limits: { requestsPerSecond: 20, maxConcurrent: 5, requestsPerDay: 250_000, rolling: true },
  retry: {
    // [R1][R5]: no Retry-After is published, so wait one full 1-second window (ASSUMPTION) and retry.
    waitAfter429Ms: 1_000,
    maxAttempts: 4,
  },
  // [R3]: pageSize 1–100, default 25; pageNumber > 0.
  pagination: { type: 'page', maxPageSize: 100, defaultPageSize: 25 },
  // `findByEmail` sends the address as `email` on `GET /contacts/` [R3].
  personalQueryParams: ['email'],
  // [R1]: `{ statusCode, dateTime, description, errors: [{ field, message }] }`. The field names are shown;
  // `description` and each `message` are free text, which nothing says never quotes the record, so they are not.
  errorBody: { kind: [], fields: ['errors[].field'] },
  // [R1][R3]: 403 is "scope": POST /contacts and PATCH /contacts/{id} refused to an app the customer did not grant
  // the write scope, while its GETs are served.
  writeScope: {
    statuses: [403],
    probe: '/contacts/?pageSize=1',
    grant:
      'grant this app the contacts write scope (the customer accepts the scopes an app asks for when installing ' +
      'it from the Reapit AppMarket)',
  },
  capabilities: {
    deltaMode: 'modifiedSince',
    writeMode: 'patchIfMatch',
    canCreate: true,
    canUpdate: true,
    canSearchByEmail: true,
    createMergesByEmail: false,
    // [R1]: creation "is often asynchronous" (201, empty body), so a search soon after the POST can miss the record.
    // ASSUMPTION: 60 s. No figure is published; queued work of this kind lands in seconds, and a minute leaves a
    // wide margin while the re-send still comes on the second or third backoff retry (30 s doubling).
    createSettleMs: 60_000,
    // [R1]: GET /contacts/{id}, 404 for a contact Reapit does not hold.
    canGetRecord: true,
    // [R3]: `GET /contacts/?id=…&id=…` filters the listing by ids, a page of at most 100 holding them all.
    maxIdsPerRead: 100,
    maxPageSize: 100,
    // Contact fields map to ContactModel; engagement lives in `metadata` (app-specific JSON) [R3].
    storedFields: contactFields,
    writableFields: contactFields,
  },
});

/**
 * ASSUMPTION: Reapit stamps `modified` with 7 fractional digits (.NET ticks) but filters (`modifiedFrom`/`modifiedTo`)
 * and orders its listing at the millisecond, so the records of one millisecond come in no order of their ticks.
 * A listing anchor treats each millisecond as one instant (docs/providers.md, "Reapit: completeness").
 */
export const REAPIT_LISTING_GRAIN_MS = 1;
