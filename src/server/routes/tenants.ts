import { Hono } from 'hono';
import { z } from 'zod';
import { formatInterval } from '../../core/interval.ts';
import { type Tenant, tenantInputSchema } from '../../persistence/records.ts';
import { pullInNextRun } from '../../runner/nextRun.ts';
import type { AdminApiDeps } from '../adminApi.ts';
import { readBody, readInput, readNoQuery, readParams, storeFailure, tenantParamsSchema } from '../http.ts';
import { intervalSchema } from '../intervals.ts';

export const createTenantBodySchema = z.strictObject({
  name: tenantInputSchema.shape.name,
  interval: intervalSchema,
});

export const updateTenantBodySchema = z.strictObject({ interval: intervalSchema });

/** A tenant as the API shows it. */
export interface TenantView {
  id: string;
  name: string;
  /** Default interval of the tenant's connections, e.g. `15m`. */
  interval: string;
  syncIntervalSeconds: number;
  createdAt: string;
  updatedAt: string;
}

export const tenantView = (tenant: Tenant): TenantView => ({
  id: tenant.id,
  name: tenant.name,
  interval: formatInterval(tenant.syncIntervalSeconds),
  syncIntervalSeconds: tenant.syncIntervalSeconds,
  createdAt: tenant.createdAt.toISOString(),
  updatedAt: tenant.updatedAt.toISOString(),
});

/** `GET /tenants`, `POST /tenants`, `GET /tenants/:tenantId`, `PATCH /tenants/:tenantId`. */
export function tenantRoutes({ store, runner }: AdminApiDeps): Hono {
  return new Hono()
    .get('/tenants', async (c) => {
      const input = readInput(c, { query: readNoQuery(c) });
      if (!input.ok) return input.error;
      const tenants = await store.listTenants();
      if (!tenants.ok) return storeFailure(c, tenants.error);
      return c.json({ tenants: tenants.value.map(tenantView) });
    })
    .post('/tenants', async (c) => {
      const input = readInput(c, { query: readNoQuery(c), body: await readBody(c, createTenantBodySchema) });
      if (!input.ok) return input.error;
      const { body } = input.value;
      const created = await store.createTenant({ name: body.name, syncIntervalSeconds: body.interval });
      if (!created.ok) return storeFailure(c, created.error);
      return c.json({ tenant: tenantView(created.value) }, 201);
    })
    .get('/tenants/:tenantId', async (c) => {
      const input = readInput(c, { params: readParams(c, tenantParamsSchema), query: readNoQuery(c) });
      if (!input.ok) return input.error;
      const tenant = await store.getTenant(input.value.params);
      if (!tenant.ok) return storeFailure(c, tenant.error);
      return c.json({ tenant: tenantView(tenant.value) });
    })
    .patch('/tenants/:tenantId', async (c) => {
      const input = readInput(c, {
        params: readParams(c, tenantParamsSchema),
        query: readNoQuery(c),
        body: await readBody(c, updateTenantBodySchema),
      });
      if (!input.ok) return input.error;
      const { params, body } = input.value;
      const { tenantId } = params;
      const updated = await store.transaction(async (tx) => {
        const tenant = await tx.setTenantInterval({ tenantId, syncIntervalSeconds: body.interval });
        if (!tenant.ok) return tenant;
        const connections = await tx.listConnections({ tenantId });
        if (!connections.ok) return connections;
        for (const connection of connections.value.filter((c) => c.syncIntervalSeconds === null)) {
          const pulled = await pullInNextRun(
            tx,
            connection,
            connection.effectiveIntervalSeconds,
            runner.clock(),
          );
          if (!pulled.ok) return pulled;
        }
        return tenant;
      });
      if (!updated.ok) return storeFailure(c, updated.error);
      return c.json({ tenant: tenantView(updated.value) });
    });
}
