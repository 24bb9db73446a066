import { randomUUID } from 'node:crypto';
import { type CanonicalContact, canonicalContactSchema } from '../../src/core/schemas.ts';

/**
 * `count` NurtureHub leads for the CRM to create, each its own person: a given name of letters (`LeadAA`,
 * `LeadBA`, … so no two are close enough to be merged), `surname` and an index, and the e-mail `lead<i>@example.org`.
 */
export function newLeads(count: number, surname: string): Array<{ id: string; contact: CanonicalContact }> {
  return Array.from({ length: count }, (_, i) => ({
    id: randomUUID(),
    contact: canonicalContactSchema.parse({
      firstName: `Lead${String.fromCharCode(65 + (i % 26))}${String.fromCharCode(65 + Math.floor(i / 26))}`,
      lastName: `${surname}${i}`,
      email: `lead${i}@example.org`,
      marketingConsent: 'grant',
    }),
  }));
}

/** The lead e-mail each of `records` (as a simulator lists them) holds; one entry per record holding one. */
export function leadEmailsIn(records: readonly unknown[]): string[] {
  return records
    .map((r) => JSON.stringify(r).match(/lead\d+@example\.org/)?.[0])
    .filter((email): email is string => email !== undefined);
}

/** How many records hold a lead e-mail and how many people they are: a lead created twice is two records, one person. */
export function recordsAndPeople(records: readonly unknown[]): { records: number; people: number } {
  const emails = leadEmailsIn(records);
  return { records: emails.length, people: new Set(emails).size };
}
