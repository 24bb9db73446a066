import { defineSpec } from '../spec.ts';

/** Street Open API, people. Sources in docs/providers.md (Street) and research [S1]–[S6]. */
export const streetSpec = defineSpec({
  // [S1]: GET 600 calls/minute; POST/PUT/PATCH/DELETE 100 calls/minute, counted apart.
  // ASSUMPTION: rolling windows (the stricter reading; Street does not say rolling or fixed).
  limits: { readsPerMinute: 600, writesPerMinute: 100, rolling: true },
  retry: {
    // [S3]: neither 429 nor Retry-After/rate headers are documented. ASSUMPTION: wait 15 s per 429, 5 attempts in
    // all, so a budget spent by another app is waited out for up to a minute before the call fails.
    waitAfter429Ms: 15_000,
    maxAttempts: 5,
  },
  // [S2]: `page[size]` 1–100, capped at 100 (the OpenAPI says 250 [S3]; we follow the guide). Default not
  // stated; ASSUMPTION 25, as in the docs' own link examples.
  pagination: { type: 'page', maxPageSize: 100, defaultPageSize: 25 },
  // `findByEmail` sends the address as `filter[email_address]` on `GET /people` [S3].
  personalQueryParams: ['filter[email_address]'],
  // [S3]: JSON:API `{ errors: [{ title, detail, code, source: { pointer, parameter } }] }`. JSON:API's `title` does
  // not change from occurrence to occurrence; `detail` does and may quote values, so it is not shown.
  errorBody: {
    kind: ['errors[].code', 'errors[].title'],
    fields: ['errors[].source.pointer', 'errors[].source.parameter'],
  },
  // [S3]: PATCH /people/{id} declares 403 (GET /people does not): a token that may read people but not edit them.
  // ASSUMPTION: what the agency changes is the token's permissions; the Open API does not name them.
  writeScope: {
    statuses: [403],
    probe: '/people?page%5Bsize%5D=1',
    grant:
      'give the Street API token permission to edit people (tokens are made in Street under Settings > ' +
      'Account Administration > Applications)',
  },
  capabilities: {
    // `filter[updated_from]`/`filter[updated_to]` on `GET /people` [S3].
    deltaMode: 'modifiedSince',
    // PATCH of a fixed attribute set, no ETag/If-Match [S3].
    writeMode: 'limitedFields',
    // No `POST /people` in the Open API [S3].
    canCreate: false,
    canUpdate: true,
    // `filter[email_address]` [S3].
    canSearchByEmail: true,
    createMergesByEmail: false,
    // `GET /people/{person_id}` [S3]: a person the agency trashed (Street's delete) and keyed in again is found gone.
    canGetRecord: true,
    maxPageSize: 100,
    // Person attributes [S3]. Not stored: work phone (numbers carry no type; see mapping.ts), date of birth
    // (no attribute), and every engagement field (no documented place for app data).
    storedFields: [
      'title',
      'firstName',
      'lastName',
      'email',
      'mobilePhone',
      'homePhone',
      'address',
      'status',
      'marketingConsent',
    ],
    // [S3]: PATCH takes only title, first_name, last_name, marketing_consent, contact_preferences
    // (contact_preferences has no canonical field).
    writableFields: ['title', 'firstName', 'lastName', 'marketingConsent'],
  },
});
