import { expect, it } from 'vitest';
import type { CanonicalContact } from '../../src/core/schemas.ts';
import type { CrmProvider } from '../../src/providers/provider.ts';
import type { SimulatorOptions } from '../../src/providers/simulator/server.ts';
import type { ProviderHarness } from './providerSuite.ts';

type WithHarness = (options: SimulatorOptions, run: (h: ProviderHarness) => Promise<void>) => Promise<void>;

/** One write the provider makes: an update of `target` where it updates, a create where it only creates. */
function oneWrite(
  provider: CrmProvider,
  contact: CanonicalContact,
  target: { externalId: string; version: string | null },
) {
  const caps = provider.capabilities;
  return caps.canUpdate
    ? provider.update({ ...target, patch: { lastName: 'Scope-Tested' } })
    : provider.create({ contact, reference: 'nh-ref-scope1' });
}

/**
 * The suite's case for credentials that read but may not write, for every provider that writes and whose CRM
 * documents such a refusal (its simulator answers `writeAccess`): the write is `write_forbidden`, reads go on, the
 * same write with credentials refused outright is `auth_failed`, and once access is granted it is accepted.
 */
export function writeScopeCase(params: {
  withHarness: WithHarness;
  newContact: (suffix: string) => CanonicalContact;
}): void {
  const firstPage = (provider: CrmProvider) =>
    provider.listChanges({
      window: { from: null, to: new Date(Date.now() + 1000).toISOString() },
      pageToken: null,
    });
  it('reports a write its credentials may not make as write_forbidden while they still read', async () => {
    await params.withHarness({ contacts: 5, seed: 12 }, async (h) => {
      const provider = h.provider();
      const caps = provider.capabilities;
      if (!caps.canCreate && !caps.canUpdate) return;
      const listed = await firstPage(provider);
      const target = listed.ok ? listed.value.records[0] : undefined;
      if (target === undefined) throw new Error('no record listed');
      if (!(await h.control.writeAccess(false))) return;
      const contact = params.newContact('scope1');
      const refused = await oneWrite(provider, contact, target);
      expect(refused).toMatchObject({ ok: false, error: { kind: 'write_forbidden' } });
      expect((await h.control.stats()).writes).toBe(0);
      expect((await firstPage(provider)).ok).toBe(true);
      const revoked = await oneWrite(h.provider({ credentials: 'invalid' }), contact, target);
      expect(revoked).toMatchObject({ ok: false, error: { kind: 'auth_failed' } });

      await h.control.writeAccess(true);
      const granted = await oneWrite(provider, contact, target);
      expect(granted.ok).toBe(true);
      expect((await h.control.stats()).writes).toBe(1);
    });
  });
}
