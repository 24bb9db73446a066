import { contentHash } from '../core/canonicalJson.ts';
import { equivalent } from '../core/equivalentValue.ts';
import type { PhaseDeps } from './context.ts';
import { providerFailure } from './failures.ts';
import { readRecords } from './readRecords.ts';
import type { CycleRef } from './reconcilePhase.ts';
import { must } from './storeCall.ts';

/** How long a record a create made is looked for by id while no listing shows it. */
export const UNLISTED_CREATE_LOOKUP_MS = 7 * 24 * 60 * 60_000;
/** Records read one by one at most per cycle, where the CRM reads no several at once. */
const SINGLE_READS_PER_CYCLE = 20;

/**
 * Where updates need the record's version (Reapit's If-Match), gives the links of records a create made that no
 * listing has shown the version read by id, at the end of a listing. Reapit applies a create in the background and
 * its record keeps the create's `modified`: a cycle that ran before it showed, and staged a later change, moved the
 * cursor past it, so no delta listed it and its `_eTag` never came; every update of it (engagement included) was
 * deferred as a 428 until the agency edited the record. A record read as it was created takes its content as seen
 * too; one that differs (the CRM's own change of what was sent) takes the version only, so a listing that shows it
 * is merged. Not shown yet (404), it is asked for again next cycle, for a week. Returns the links given a version.
 */
export async function versionUnlistedCreates(
  deps: PhaseDeps,
  ref: Omit<CycleRef, 'cycleId'>,
  listed: ReadonlySet<string>,
  signal: AbortSignal,
): Promise<number> {
  const { store, provider, clock } = deps;
  const { writeMode, canGetRecord, maxIdsPerRead, storedFields } = provider.capabilities;
  if (writeMode !== 'patchIfMatch' || !canGetRecord) return 0;
  const since = new Date(clock().getTime() - UNLISTED_CREATE_LOOKUP_MS);
  const limit = maxIdsPerRead ?? SINGLE_READS_PER_CYCLE;
  const links = (await must(store.unversionedLinks({ ...ref, since, limit }), clock)).filter(
    (link) => !listed.has(link.externalId),
  );
  const versioned = [];
  for await (const [externalId, read] of readRecords(
    provider,
    links.map((link) => link.externalId),
    signal,
  )) {
    if (!read.ok) {
      // Not shown yet, or unreadable here: a listing will show it, or the next cycle asks again.
      if (read.error.kind === 'not_found' || read.error.kind === 'validation') continue;
      throw providerFailure(read.error, clock());
    }
    const link = links.find((candidate) => candidate.externalId === externalId);
    if (link === undefined || read.value.version === null) continue;
    const asCreated = storedFields.every((field) =>
      equivalent(field, read.value.contact[field], link.base[field]),
    );
    const { connectionId: _, updatedAt: __, ...input } = link;
    versioned.push({
      ...input,
      remoteVersion: read.value.version,
      remoteHash: asCreated ? contentHash(read.value.contact) : link.remoteHash,
    });
  }
  if (versioned.length > 0) await must(store.upsertLinks({ ...ref, links: versioned, now: clock() }), clock);
  return versioned.length;
}

/** An update held because its record, which a create made, has not shown in the CRM yet. */
export const UNLISTED = 'unlisted';

/**
 * The version to send an update on: `version` as planned, or where updates need one and it was planned without
 * (a record a create made that no listing had shown), the one `versionUnlistedCreates` has read since. `UNLISTED`
 * while the record has not shown: the update stays planned for the next cycle. Sent without a version it read the
 * record first, and a record not shown yet answered 404, which unlinked it as one the agency had deleted. After the
 * week the record is looked for, `null`: the adapter's read tells whether the agency deleted it.
 */
export async function versionToSend(
  deps: PhaseDeps,
  ref: Omit<CycleRef, 'cycleId'>,
  externalId: string,
  version: string | null,
): Promise<string | null | typeof UNLISTED> {
  const { store, provider, clock } = deps;
  if (version !== null || provider.capabilities.writeMode !== 'patchIfMatch') return version;
  const [link] = await must(store.getLinksByExternalIds({ ...ref, externalIds: [externalId] }), clock);
  if (link === undefined) return null;
  if (link.remoteVersion !== null) return link.remoteVersion;
  const lookedForSince = clock().getTime() - link.updatedAt.getTime();
  return lookedForSince < UNLISTED_CREATE_LOOKUP_MS ? UNLISTED : null;
}

/** The one note of a push's updates held for records not shown yet, `count` of them. */
export function unlistedNote(crm: string, count: number) {
  return {
    kind: 'error' as const,
    key: 'unlisted-creates',
    body: {
      status: null,
      message:
        `${count} update${count === 1 ? '' : 's'} held: ${crm} has not shown the record${count === 1 ? '' : 's'} ` +
        'NurtureHub created yet (it applies creates in the background); sent once it does',
      retry: true,
    },
  };
}
