import { v5 as uuidv5 } from 'uuid';

/** Namespace for crm-sync stable ids (a fixed random uuid; never change it, ids derive from it). */
const CRM_SYNC_NAMESPACE = '6f1d3c62-0b8e-4f3a-9a57-2f5e8c1d4b90';

/**
 * A stable id for an external record: uuid v5 of (tenant, provider, objectType, externalId).
 * The same inputs always give the same id, on any machine.
 */
export function stableId(parts: {
  tenantId: string;
  provider: string;
  objectType: string;
  externalId: string;
}): string {
  return uuidv5(
    [parts.tenantId, parts.provider, parts.objectType, parts.externalId].map(encodeURIComponent).join('/'),
    CRM_SYNC_NAMESPACE,
  );
}

/** A deterministic idempotency key from any parts (uuid v5 over the joined parts). */
export function idempotencyKey(...parts: string[]): string {
  return uuidv5(parts.map(encodeURIComponent).join('/'), CRM_SYNC_NAMESPACE);
}
