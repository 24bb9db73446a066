import type { ContactPatch } from '../core/schemas.ts';
import type { ProviderError } from './provider.ts';

/**
 * The refusal of an update that clears the surname, which a CRM holding one requires (Reapit and Loop answer such
 * an update 422 naming no field): named, so the push leaves the field out and sends the rest of the change.
 * Acknowledged without it instead, the link's base took no surname, and the next read-back took the CRM's surname
 * for an agency edit that undid NurtureHub's.
 */
export function clearedSurname(crm: string, patch: ContactPatch): ProviderError | null {
  if (!('lastName' in patch) || patch.lastName) return null;
  return {
    kind: 'validation',
    status: null,
    field: 'lastName',
    message: `${crm} requires a surname; it cannot be cleared`,
  };
}
