import { randomUUID } from 'node:crypto';
import { type CanonicalContactInput, canonicalContactSchema } from '../../src/core/schemas.ts';
import type { AuditBody } from '../../src/persistence/audit.ts';
import type { Store } from '../../src/persistence/store.ts';
import type { ProviderName } from '../../src/providers/provider.ts';
import { unwrap } from './backends.ts';

export const T0 = new Date('2025-06-01T10:00:00.000Z');
export const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

export const contact = (fields: CanonicalContactInput = {}) => canonicalContactSchema.parse(fields);

/** A tenant with a random name and one connection. */
export async function tenantWithConnection(store: Store, provider: ProviderName = 'reapit') {
  const tenant = unwrap(
    await store.createTenant({
      name: `agency-${randomUUID()}`,
      syncIntervalSeconds: 300,
      settings: { region: 'uk' },
    }),
  );
  const connection = unwrap(
    await store.addConnection({
      tenantId: tenant.id,
      provider,
      baseUrl: 'https://crm.example.test/api',
      credentials: { clientId: 'id-1', clientSecret: `secret-${randomUUID()}` },
      nextRunAt: T0,
    }),
  );
  return { tenant, connection, ref: { tenantId: tenant.id, connectionId: connection.id } };
}

export function auditBody(overrides: Partial<AuditBody> = {}): AuditBody {
  return {
    cycleId: randomUUID(),
    window: { from: null, to: at(60).toISOString() },
    fetched: 2,
    written: { created: 1, updated: 1, unchanged: 0 },
    conflicts: [],
    duplicatesSuppressed: [],
    errors: [],
    startedAt: at(0).toISOString(),
    finishedAt: at(5).toISOString(),
    outcome: 'completed',
    ...overrides,
  };
}
