import type { CanonicalContact } from '../../src/core/schemas.ts';
import { toInboundRecord as agentosRecord } from '../../src/providers/agentos/mapping.ts';
import { fromContact as altoRecord } from '../../src/providers/alto/mapping.ts';
import { altoContactSchema } from '../../src/providers/alto/schemas.ts';
import { toInboundRecord as loopRecord } from '../../src/providers/loop/mapping.ts';
import type { ProviderName } from '../../src/providers/provider.ts';
import { toInboundRecord as reapitRecord } from '../../src/providers/reapit/mapping.ts';
import { toInboundRecord as streetRecord } from '../../src/providers/street/mapping.ts';

/**
 * A simulator's record (`/_sim/records`, the provider's own wire shape) as the canonical contact it holds, read
 * with the provider's documented mapping: what the plan checks compare with the local contacts. `null` for a record
 * the mapping refuses (reported by the caller).
 */
export interface CrmContact {
  externalId: string;
  contact: CanonicalContact;
}

export function crmContactOf(provider: ProviderName, raw: unknown): CrmContact | null {
  const read = readRecord(provider, raw);
  return read?.ok ? { externalId: read.value.externalId, contact: read.value.contact } : null;
}

function readRecord(provider: ProviderName, raw: unknown) {
  switch (provider) {
    case 'agentos':
      return agentosRecord(raw, '2026-01-01T00:00:00.000Z');
    case 'reapit':
      return reapitRecord(raw);
    case 'alto': {
      const contact = altoContactSchema.safeParse(raw);
      return contact.success ? altoRecord(contact.data) : null;
    }
    case 'street': {
      // The simulator keeps its own `deleted_at`; the API shows a trashed person only under `filter[trashed]`.
      const record = raw as { attributes?: Record<string, unknown> };
      const { deleted_at: trashedAt, ...attributes } = record.attributes ?? {};
      return streetRecord({ ...record, attributes }, trashedAt !== null && trashedAt !== undefined);
    }
    case 'loop':
      return loopRecord(raw);
    default:
      return null;
  }
}
