import { describe, expect, it } from 'vitest';
import { compareCursor } from '../../src/core/cursor.ts';
import { credentialsSchema } from '../../src/persistence/records.ts';
import type { ProviderName } from '../../src/providers/provider.ts';
import { auditedCycle, createSyncHarness, must, type SyncHarness } from '../support/syncHarness.ts';

const refOf = (h: SyncHarness) => ({ tenantId: h.tenantId, connectionId: h.connectionId });

/** A contact linked to a live CRM record the agency's edits did not touch, renamed here: one update to push. */
async function renameUntouchedContact(h: SyncHarness, untouched: (externalId: string) => boolean) {
  const contacts = must(await h.store.listContacts({ tenantId: h.tenantId, limit: 100 }));
  const stored = contacts.find(
    (c) => c.contact.status === 'active' && c.links.some((l) => untouched(l.externalId)),
  );
  const link = stored?.links.find((l) => l.connectionId === h.connectionId);
  if (stored === undefined || link === undefined) throw new Error('no linked contact to rename');
  must(
    await h.store.upsertContacts({
      tenantId: h.tenantId,
      contacts: [{ id: stored.id, contact: { ...stored.contact, firstName: 'Wilhelmina' } }],
      now: new Date(),
    }),
  );
}

/**
 * Reapit (403 "scope"), Alto (per-route scopes) and Street (403 on PATCH /people/{id}) refuse a write the agency did
 * not grant while the same credentials read. That 403 stopped the whole connection in `auth_failed`, reads included:
 * the agency's contacts stopped flowing into NurtureHub because NurtureHub could not write back. Now the writes are
 * held, with one note saying what to grant, the cycle's reads are kept, and the held writes go out once the scope is
 * granted.
 */
describe.each<{ provider: ProviderName; grant: RegExp }>([
  { provider: 'reapit', grant: /grant this app the contacts write scope/ },
  { provider: 'alto', grant: /grant this client the scopes of the contacts write routes \(alto\/route:/ },
  { provider: 'street', grant: /give the Street API token permission to edit people/ },
])('$provider credentials that read but may not write', ({ provider, grant }) => {
  it('complete the cycle with its reads, hold the write with one note, and send it once write access is granted', async () => {
    const h = await createSyncHarness(provider, { simulator: { contacts: 12, seed: 6 } });
    try {
      await auditedCycle(h);
      const committed = must(await h.store.getConnection(refOf(h))).cursor;
      expect(await h.sim.control.writeAccess(false)).toBe(true);
      const { changed } = await h.sim.control.edits({ count: 3, seed: 8 });
      // Street's window ends before the second it is read in (its stamps are whole seconds): one that has passed.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await renameUntouchedContact(h, (id) => !changed.includes(id));
      const crmFirstName = async () => JSON.stringify(await h.sim.control.records()).includes('Wilhelmina');

      const held = await auditedCycle(h);
      expect(held?.outcome).toBe('completed');
      expect(held?.errors).toEqual([
        {
          status: 403,
          message: expect.stringMatching(
            new RegExp(`1 write held, tried again next cycle; reads go on: .*${grant.source}`),
          ),
          retry: true,
        },
      ]);
      expect(held?.written).toMatchObject({ created: 0, updated: 0 });
      expect(await crmFirstName()).toBe(false);
      // The reads were kept: every record the agency changed is linked, and the cursor moved past them.
      const links = must(await h.store.getLinksByExternalIds({ ...refOf(h), externalIds: changed }));
      expect(links.map((l) => l.externalId).sort()).toEqual([...changed].sort());
      const advanced = must(await h.store.getConnection(refOf(h))).cursor;
      if (committed === null || advanced === null) throw new Error('no committed cursor');
      expect(compareCursor(advanced, committed)).toBeGreaterThan(0);

      const stillHeld = await auditedCycle(h);
      expect(stillHeld?.errors).toEqual([expect.objectContaining({ status: 403, retry: true })]);

      await h.sim.control.writeAccess(true);
      const before = await h.sim.control.stats();
      const sent = await auditedCycle(h);
      expect(sent?.errors).toEqual([]);
      expect(sent?.written).toMatchObject({ created: 0, updated: 1 });
      expect(await crmFirstName()).toBe(true);
      const quiet = await auditedCycle(h);
      expect(quiet?.written).toMatchObject({ created: 0, updated: 0 });
      expect((await h.sim.control.stats()).writes - before.writes).toBe(1);
    } finally {
      await h.close();
    }
  });

  it('stop in auth_failed when the credentials are refused for reads as well', async () => {
    const h = await createSyncHarness(provider, { simulator: { contacts: 6, seed: 6 } });
    try {
      await auditedCycle(h);
      const good = credentialsSchema.parse(h.sim.credentials);
      // Alto answers a wrong AgencyRef with 403 on every route [A4]: a refusal of the credentials, not of a scope.
      const revoked = credentialsSchema.parse(
        provider === 'alto' ? { ...good, agencyRef: 'another-agency' } : wrongCredentials(good),
      );
      must(await h.store.setConnectionCredentials({ ...refOf(h), credentials: revoked }));
      await renameUntouchedContact(h, () => true);
      const outcome = must(await h.run());
      expect(outcome.state).toBe('error');
      expect(outcome.context.errorReason).toBe('auth_failed');
    } finally {
      await h.close();
    }
  });
});

/** Every secret of the credentials changed (an outright revocation), the URLs kept. */
const wrongCredentials = (good: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(good).map(([k, v]) => [
      k,
      typeof v === 'string' && !v.startsWith('http') ? `${v}-wrong` : v,
    ]),
  );
