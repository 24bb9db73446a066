import { z } from 'zod';
import type { MatchRecord } from './matchRecord.ts';

/**
 * Bump whenever `toMatchRecord` would normalise some contact differently: a stored record of another version is
 * not read, and the contact's document is normalised again instead. `storedMatchRecord.test.ts` pins the
 * output on a fixed set of contacts so that such a change fails there first.
 */
export const MATCH_RECORD_VERSION = 5;

const text = z.string().nullable();
const storedSchema = z.object({
  v: z.literal(MATCH_RECORD_VERSION),
  firstName: text,
  middleInitials: z.string(),
  firstNameGroups: z.array(z.string()),
  lastName: text,
  lastNamePhonetic: text,
  gender: z.enum(['male', 'female']).nullable(),
  email: text,
  personalPhones: z.array(z.string()),
  householdPhones: z.array(z.string()),
  dateOfBirth: text,
  impossibleDateOfBirth: text,
  postcode: text,
  postcodeSector: text,
  addressLine1: text,
  houseNumber: text,
  subPremise: text,
  addressLine2: text,
  town: text,
});

/** A contact's match record as stored beside its document: JSON without the id, tagged with its version. */
export function storeMatchRecord(record: MatchRecord): string {
  const { id: _id, ...fields } = record;
  return JSON.stringify({ v: MATCH_RECORD_VERSION, ...fields });
}

/**
 * The match record stored for contact `id`, or `null` when there is none to trust (written before records were
 * stored, by another version, or unreadable): the caller normalises the document then.
 */
export function readStoredMatchRecord(id: string, stored: string | null): MatchRecord | null {
  if (stored === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(stored);
  } catch {
    return null;
  }
  const parsed = storedSchema.safeParse(value);
  if (!parsed.success) return null;
  const { v: _v, ...fields } = parsed.data;
  return { id, ...fields };
}
