import { Hono } from 'hono';
import { z } from 'zod';
import { providerNameSchema } from '../../core/providerName.ts';
import type { AdminApiDeps } from '../adminApi.ts';
import { readParams, readQuery, storeFailure, tenantParamsSchema } from '../http.ts';

export const auditQuerySchema = z.strictObject({
  provider: providerNameSchema.optional(),
  connectionId: z.uuid().optional(),
  /** Entries whose cycle finished at or after this ISO instant. */
  since: z.iso
    .datetime({ offset: true })
    .transform((text) => new Date(text))
    .optional(),
  /** The previous page's `nextBeforeId`. */
  beforeId: z.coerce.number().int().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

/** `GET /tenants/:tenantId/audit?provider=&connectionId=&since=&beforeId=&limit=`: newest first, paged. */
export function auditRoutes({ store }: AdminApiDeps): Hono {
  return new Hono().get('/tenants/:tenantId/audit', async (c) => {
    const params = readParams(c, tenantParamsSchema);
    if (!params.ok) return params.error;
    const query = readQuery(c, auditQuerySchema);
    if (!query.ok) return query.error;
    const tenant = await store.getTenant(params.value);
    if (!tenant.ok) return storeFailure(c, tenant.error);
    const { provider, connectionId, since, beforeId, limit } = query.value;
    const page = await store.listAudit({
      tenantId: params.value.tenantId,
      limit,
      ...(provider === undefined ? {} : { provider }),
      ...(connectionId === undefined ? {} : { connectionId }),
      ...(since === undefined ? {} : { since }),
      ...(beforeId === undefined ? {} : { beforeId }),
    });
    if (!page.ok) return storeFailure(c, page.error);
    return c.json({ entries: page.value.entries, nextBeforeId: page.value.nextBeforeId });
  });
}
