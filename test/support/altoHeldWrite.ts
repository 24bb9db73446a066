import { altoContactSchema } from '../../src/providers/alto/schemas.ts';
import { agencyClient } from './simulators.ts';
import { must, type SyncHarness } from './syncHarness.ts';

/**
 * Shared steps of the tests of an update held while Alto's credentials could not write (Alto has no record
 * versions [A1], so a held write sent late overwrites the agency's edit unless it is cut to what is still owed).
 */

/** The first seeded Alto record and the NurtureHub contact the first cycle linked it to. */
export async function firstLinkedRecord(h: SyncHarness): Promise<{ externalId: string; contactId: string }> {
  const [record] = (await h.sim.control.records()).map((raw) => altoContactSchema.parse(raw));
  if (record === undefined) throw new Error('no seeded record');
  const externalId = String(record.id);
  const [link] = must(await h.store.getLinksByExternalIds({ ...h, externalIds: [externalId] }));
  if (link === undefined) throw new Error(`the seeded record ${externalId} is not linked`);
  return { externalId, contactId: link.contactId };
}

/** The agency renames the person in Alto with its own access, while the engine's credentials still cannot write. */
export async function agencyRenamesSurname(
  h: SyncHarness,
  externalId: string,
  lastName: string,
): Promise<void> {
  await h.sim.control.writeAccess(true);
  must(await agencyClient('alto', h.sim).update({ externalId, patch: { lastName }, version: null }));
  await h.sim.control.writeAccess(false);
}

/** The first and last name of the record's first person, as Alto holds them. */
export async function altoPersonName(h: SyncHarness, externalId: string) {
  const records = (await h.sim.control.records()).map((raw) => altoContactSchema.parse(raw));
  const person = records.find((r) => String(r.id) === externalId)?.people?.[0];
  return { first: person?.forename, last: person?.surname };
}
