import { defineSpec } from '../spec.ts';

/**
 * Loop (loop.software). **No public contacts documentation exists** [L1]: everything in this folder is an
 * ASSUMPTION, an invented API to be replaced when Loop's real spec is obtained. Only the host style
 * (`/api`, header `x-api-key`, camelCase, `{ results }` with `pageSize`) comes from a third-party client [L1].
 */
export const loopSpec = defineSpec({
  // ASSUMPTION: 60 requests a minute, rolling.
  limits: { requestsPerMinute: 60, rolling: true },
  retry: {
    // ASSUMPTION: 429 carries `Retry-After` (delay-seconds); 60 s is the fallback when it does not.
    retryAfterHeader: 'retry-after',
    waitAfter429Ms: 60_000,
    maxAttempts: 4,
  },
  // ASSUMPTION: pageSize 1–100 (default 25), pageNumber from 1.
  pagination: { type: 'page', maxPageSize: 100, defaultPageSize: 25 },
  // No e-mail search is assumed: no call puts personal data in its URL.
  personalQueryParams: [],
  // ASSUMPTION: errors are `{ message }`, free text, so a failure shows its status and the body's size alone.
  errorBody: { kind: [], fields: [] },
  capabilities: {
    // ASSUMPTION: `modifiedSince` (inclusive) on `GET /contacts`, results in (updatedAt, id) order.
    deltaMode: 'modifiedSince',
    // ASSUMPTION: `PUT /contacts/{id}` last-write-wins, no ETag; members absent from the body are kept.
    writeMode: 'put',
    canCreate: true,
    canUpdate: true,
    // ASSUMPTION: no e-mail filter (none is assumed on the listing).
    canSearchByEmail: false,
    createMergesByEmail: false,
    // ASSUMPTION: GET /api/contacts/{id} answers the contact as listed, 404 for one Loop does not hold.
    canGetRecord: true,
    // ASSUMPTION: a create is applied before it is answered.
    createSettleMs: 0,
    maxPageSize: 100,
    // ASSUMPTION: the contact shape has no date of birth, archive flag or custom fields.
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
    writableFields: [
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
  },
});
