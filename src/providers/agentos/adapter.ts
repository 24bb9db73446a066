import { z } from 'zod';
import { compareModified } from '../../core/cursor.ts';
import { err, ok, type Result } from '../../core/result.ts';
import { createHttpTransport, type HttpRequest, type HttpResponse } from '../base.ts';
import { type ConnectionLimiter, createLimiter } from '../limiter.ts';
import { decodePageToken, encodePageToken } from '../pageToken.ts';
import type { ChangePage, CrmProvider, FetchWindow, ProviderError } from '../provider.ts';
import { mapRecords, recordRead } from '../records.ts';
import type { ProviderSpec } from '../spec.ts';
import { listedProspect, toInboundRecord, toProspect } from './mapping.ts';
import { type AgentosCredentials, agentosCreatedSchema, agentosPageSchema } from './schemas.ts';
import { AGENTOS_BLOCK_WAITS, AGENTOS_TIERS, type AgentosTier, agentosSpec } from './spec.ts';

/**
 * Where a snapshot listing stands: the stamp every record of this listing carries, the next offset, and the
 * `Count` seen on the previous page (to notice records vanishing ahead of the offset).
 */
const pageTokenSchema = z.strictObject({
  stamp: z.string().min(1),
  offset: z.number().int().min(0),
  total: z.number().int().min(0).nullable(),
});
type PageToken = z.infer<typeof pageTokenSchema>;

export interface AgentosProviderParams {
  baseUrl: string;
  credentials: AgentosCredentials;
  /** The connection's limiter; defaults to one built from `spec`. */
  limiter?: ConnectionLimiter;
  /** Defaults to the documented `agentosSpec`; tests pass a scaled copy. */
  spec?: ProviderSpec;
  fetch?: typeof fetch;
}

/**
 * The `modified` value of every record in a snapshot listing of `window`.
 *
 * agentOS has no modified value and no delta filter, so each cycle lists everything. The engine keeps only
 * records with (modified, id) ≥ `window.from` (its committed cursor, inclusive) and later moves the cursor to
 * the largest (modified, id) it staged. A fixed constant would not do: after one cycle the cursor would be
 * (constant, largest id staged) and every record with a smaller id would be filtered out for ever. Stamping
 * with the window's `to` instead puts every record of this cycle strictly after any cursor an earlier cycle
 * could commit (those carry an earlier cycle's `to`), and keeps modified ≤ to. The stamp is the same for
 * every page of a window, so re-reading a window is identical and a resumed page token agrees.
 * If `to` does not advance past the cursor (a window re-run with the same `to`), the stamp is the cursor's
 * instant + 1 ms: past `to`, but the only value that keeps every record ≥ the cursor.
 */
export function snapshotStamp(window: FetchWindow): string {
  const from = window.from;
  if (from === null || compareModified(window.to, from.modified) > 0) return window.to;
  const at = Date.parse(from.modified);
  return Number.isNaN(at) ? window.to : new Date(at + 1).toISOString();
}

/**
 * A 401 says which tier refused the key [G1], so the operator is told what to change. On the write tier it is
 * `write_forbidden` when the key still reads (see `writeRefused`): what is missing is the write tier, and the writes
 * wait for it while reads go on. On the read tier it is `auth_failed`, as ever.
 */
function tierRefused(tier: AgentosTier, refused: ProviderError): ProviderError {
  if (refused.kind !== 'auth_failed') return refused;
  if (tier === AGENTOS_TIERS.write) {
    return {
      kind: 'write_forbidden',
      status: refused.status,
      message:
        `agentOS refused the API key on the "${tier}" tier (${refused.status}): the key lacks the write tier ` +
        `"${tier}"; enable it for this key in agentOS (${refused.message})`,
    };
  }
  return {
    ...refused,
    message:
      `agentOS refused the API key on the "${tier}" tier (${refused.status}): check the key and the organisation ` +
      `short name, and that the "${tier}" tier is enabled for this key in agentOS (${refused.message})`,
  };
}

export function createAgentosProvider(params: AgentosProviderParams): CrmProvider {
  const spec = params.spec ?? agentosSpec;
  const credentials = params.credentials;
  const limiter = params.limiter ?? createLimiter(spec);
  const http = createHttpTransport({
    baseUrl: params.baseUrl,
    spec,
    limiter,
    ...(params.fetch ? { fetch: params.fetch } : {}),
    // [G1]: the key goes in header `api_key` (the query form is also accepted; headers keep it out of logs).
    headers: async () => ok({ api_key: credentials.apiKey }),
  });
  const shortName = encodeURIComponent(credentials.shortName);
  const pageSize = spec.pagination.defaultPageSize;
  const blockWaitMs = AGENTOS_BLOCK_WAITS * spec.retry.waitAfter429Ms;

  /**
   * Every call goes through here. agentOS refuses bad keys with 401 [G1]; a 403 is the load balancer
   * blocking a key that kept calling after a 429 [G3]. That is not a credential the user must fix, so it
   * is reported as `rate_limited` with a long wait, and the whole connection is held for that long.
   */
  async function send(request: HttpRequest): Promise<Result<HttpResponse, ProviderError>> {
    const response = await http.send(request);
    if (response.ok || response.error.status !== 403) return response;
    limiter.pause(blockWaitMs);
    return err({
      kind: 'rate_limited',
      status: 403,
      message: `agentOS blocked the API key after repeated calls past a 429: ${response.error.message}`,
      retryAfterMs: blockWaitMs,
    });
  }

  /**
   * A write refused: a 401 is `write_forbidden` only if the key still reads. A push resumed after a backoff or a
   * restart runs without this cycle's reads, and a key revoked outright is `auth_failed` (one listing row asked).
   */
  async function writeRefused(
    refused: ProviderError,
    signal: AbortSignal | undefined,
  ): Promise<ProviderError> {
    if (refused.kind !== 'auth_failed') return refused;
    const read = await send({
      method: 'GET',
      path: `/v4/${AGENTOS_TIERS.read}/${shortName}/applicants/lettings/0/1`,
      signal,
    });
    if (!read.ok && read.error.kind === 'auth_failed') return tierRefused(AGENTOS_TIERS.read, read.error);
    return tierRefused(AGENTOS_TIERS.write, refused);
  }

  async function listChanges(p: {
    window: FetchWindow;
    pageToken: string | null;
    signal?: AbortSignal;
  }): Promise<Result<ChangePage, ProviderError>> {
    const decoded =
      p.pageToken === null
        ? ok<PageToken>({ stamp: snapshotStamp(p.window), offset: 0, total: null })
        : decodePageToken(pageTokenSchema, p.pageToken);
    if (!decoded.ok) return decoded;
    const token = decoded.value;
    // ASSUMPTION: lettings applicants are the people NurtureHub syncs (prospects we create land there) [G2][G4].
    const response = await send({
      method: 'GET',
      path: `/v4/${AGENTOS_TIERS.read}/${shortName}/applicants/lettings/${token.offset}/${pageSize}`,
      signal: p.signal,
    });
    if (!response.ok) return err(tierRefused(AGENTOS_TIERS.read, response.error));
    const page = agentosPageSchema.safeParse(response.value.json);
    if (!page.success)
      return err({ kind: 'validation', status: 200, message: `applicants page: ${page.error.message}` });
    const { Count: total, Data: raws } = page.data;

    // Offsets are positions in a live listing. If `Count` fell since the previous page, that many records
    // vanished somewhere before this page and later ones slid back onto pages already read: step back and
    // re-read (records seen twice are harmless: the engine drops unchanged content).
    const vanished = token.total === null ? 0 : token.total - total;
    if (vanished > 0 && token.offset > 0) {
      return ok({
        records: [],
        errors: [],
        nextPageToken: encodePageToken({ ...token, offset: Math.max(0, token.offset - vanished), total }),
      });
    }
    const { records, errors } = mapRecords(raws, (raw) => toInboundRecord(raw, token.stamp));
    const nextOffset = token.offset + raws.length;
    const nextPageToken =
      raws.length === 0 || nextOffset >= total
        ? null
        : encodePageToken({ stamp: token.stamp, offset: nextOffset, total } satisfies PageToken);
    return ok({ records, errors, nextPageToken });
  }

  return {
    name: 'agentos',
    capabilities: spec.capabilities,
    listChanges,

    async create({ contact, signal }) {
      // The e-mail is what makes a create safe to repeat: agentOS links a prospect whose e-mail exists to
      // that contact [G4], so a create whose acknowledgement was lost is simply sent again. Without one a
      // retry would duplicate the person, and there is no field to keep our reference in.
      if (!contact.email) {
        return err({
          kind: 'validation',
          status: null,
          message: 'agentOS creates need an e-mail (it is how agentOS de-duplicates prospects)',
          field: 'email',
        });
      }
      // [G2] agentOS shows a person's details only with third-party-marketing consent: a prospect created without
      // it comes back hidden, which reads as a person whose details were withdrawn and would empty the contact
      // here. Refused until the contact changes (consent granted), like any write the CRM refuses.
      if (contact.marketingConsent !== 'grant') {
        return err({
          kind: 'validation',
          status: null,
          message: `agentOS hides a person without third-party-marketing consent (here ${contact.marketingConsent}); created once it is granted`,
          field: 'marketingConsent',
        });
      }
      const prospect = toProspect(contact, credentials.branchId);
      const response = await send({
        method: 'POST',
        path: `/v4/${AGENTOS_TIERS.write}/${shortName}/prospects/${encodeURIComponent(credentials.branchId)}`,
        body: prospect,
        signal,
      });
      if (!response.ok) return err(await writeRefused(response.error, signal));
      const id = agentosCreatedSchema.safeParse(response.value.json);
      // agentOS accepted the prospect and may have made it: as with no answer, it is sent again later, which
      // agentOS merges by e-mail.
      if (!id.success) {
        return err({
          kind: 'transient',
          status: response.value.status,
          message: 'agentOS prospect response carried no applicant OID',
        });
      }
      // 201 new, 200 linked to the existing contact with that e-mail: either way this is the record's id, but
      // the existing one may be another person sharing the address (the engine reads it: `getRecord`).
      return ok({ externalId: id.data, version: null, existing: response.value.status === 200 });
    },

    createdAsListed: (contact) => listedProspect(toProspect(contact, credentials.branchId)) ?? contact,

    async update() {
      return err({
        kind: 'unsupported',
        status: null,
        message: 'agentOS has no contact update (writes are POST-only) [G4]',
      });
    },

    async findByEmail() {
      return err({
        kind: 'unsupported',
        status: null,
        message: 'agentOS documents no e-mail search; creates de-duplicate on e-mail instead [G2][G4]',
      });
    },

    async getRecord({ externalId, signal }) {
      // [G2]: one lettings applicant by id; ASSUMPTION: the applicant as the listing serves it.
      const response = await send({
        method: 'GET',
        path: `/v4/${AGENTOS_TIERS.read}/${shortName}/applicants/lettings/${encodeURIComponent(externalId)}`,
        signal,
      });
      if (!response.ok) return err(tierRefused(AGENTOS_TIERS.read, response.error));
      // A read of one record has no listing stamp to give its mapping.
      return recordRead(toInboundRecord(response.value.json, ''), `applicant ${externalId}`);
    },
  };
}
