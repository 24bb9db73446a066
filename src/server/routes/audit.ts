import { Hono } from 'hono';
import { z } from 'zod';
import { providerNameSchema } from '../../core/providerName.ts';
import { isoInstantSchema, uuidSchema } from '../../core/schemas.ts';
import { auditListNameSchema } from '../../persistence/audit.ts';
import type { AdminApiDeps } from '../adminApi.ts';
import { decimalParam, readInput, readParams, readQuery, storeFailure, tenantParamsSchema } from '../http.ts';

export const auditQuerySchema = z.strictObject({
  provider: providerNameSchema.optional(),
  connectionId: uuidSchema.optional(),
  /** Entries whose cycle finished at or after this ISO instant. */
  since: isoInstantSchema.transform((text) => new Date(text)).optional(),
  /** The previous page's `nextBeforeId`. */
  beforeId: decimalParam(1, Number.MAX_SAFE_INTEGER).optional(),
  limit: decimalParam(1, 200).default(50),
  /** Items of each list of each entry; the entry's `itemCounts` says how many there are, `…/items/:list` the rest. */
  items: decimalParam(0, 200).default(100),
});

const auditItemsParamsSchema = tenantParamsSchema.extend({
  auditId: decimalParam(1, Number.MAX_SAFE_INTEGER),
  list: auditListNameSchema,
});

const auditItemsQuerySchema = z.strictObject({
  offset: decimalParam(0, Number.MAX_SAFE_INTEGER).default(0),
  limit: decimalParam(1, 1000).default(100),
});

/**
 * `GET /tenants/:tenantId/audit?provider=&connectionId=&since=&beforeId=&limit=&items=`: newest first, paged,
 * each entry's lists cut to their first `items`. `GET /tenants/:tenantId/audit/:auditId/items/:list?offset=&limit=`:
 * one page of one list (`conflicts`, `duplicatesSuppressed`, `errors`) of one entry.
 */
export function auditRoutes({ store }: AdminApiDeps): Hono {
  return new Hono()
    .get('/tenants/:tenantId/audit', async (c) => {
      const input = readInput(c, {
        params: readParams(c, tenantParamsSchema),
        query: readQuery(c, auditQuerySchema),
      });
      if (!input.ok) return input.error;
      const { params, query } = input.value;
      const tenant = await store.getTenant(params);
      if (!tenant.ok) return storeFailure(c, tenant.error);
      const { provider, connectionId, since, beforeId, limit, items } = query;
      const page = await store.listAudit({
        tenantId: params.tenantId,
        limit,
        itemsPerList: items,
        ...(provider === undefined ? {} : { provider }),
        ...(connectionId === undefined ? {} : { connectionId }),
        ...(since === undefined ? {} : { since }),
        ...(beforeId === undefined ? {} : { beforeId }),
      });
      if (!page.ok) return storeFailure(c, page.error);
      return c.json({ entries: page.value.entries, nextBeforeId: page.value.nextBeforeId });
    })
    .get('/tenants/:tenantId/audit/:auditId/items/:list', async (c) => {
      const input = readInput(c, {
        params: readParams(c, auditItemsParamsSchema),
        query: readQuery(c, auditItemsQuerySchema),
      });
      if (!input.ok) return input.error;
      // The store answers not_found (404) for an unknown tenant as for an entry of another tenant.
      const page = await store.listAuditItems({ ...input.value.params, ...input.value.query });
      if (!page.ok) return storeFailure(c, page.error);
      return c.json(page.value);
    });
}
