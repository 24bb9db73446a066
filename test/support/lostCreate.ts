import { expect } from 'vitest';
import type { CanonicalContact } from '../../src/core/schemas.ts';
import type { ProviderName } from '../../src/providers/provider.ts';
import type { SimulatorOptions } from '../../src/providers/simulator/server.ts';
import { createSyncHarness, must } from './syncHarness.ts';

export const lead: CanonicalContact = {
  title: 'Ms',
  firstName: 'Priya',
  lastName: 'Raman',
  email: 'priya.raman.lead@example.co.uk',
  mobilePhone: '07700 900555',
  homePhone: null,
  workPhone: null,
  address: null,
  dateOfBirth: null,
  status: 'active',
  marketingConsent: 'grant',
  emailOpens: 0,
  emailClicks: 0,
  lastOpenedAt: null,
  lastClickedAt: null,
  intentScore: 40,
  nurtureSequence: null,
};

export const LEAD_ID = '7a1f0c7e-4f0b-4c57-9d1e-3b2a3c4d5e6f';

/**
 * A first sync, then a NurtureHub lead (`sent`) whose create is lost on the way: its `response` (the CRM applied it,
 * then the connection dropped) or its `request` (the connection dropped before the CRM saw it). Either way the run
 * stops in backoff with the create sent and unacknowledged. `runAt` runs again that long on (our clock; the
 * simulator's is real time), `resume` an hour on. The lead's create and records are told by its e-mail, else its
 * name: it must be one no seeded record holds.
 */
export async function loseCreate(
  provider: ProviderName,
  lost: 'response' | 'request' = 'response',
  simulator: SimulatorOptions = {},
  sent: CanonicalContact = lead,
) {
  const marker = sent.email ?? sent.lastName ?? sent.firstName;
  if (marker === null) throw new Error('the lead needs an e-mail or a name to be told apart');
  let offsetMs = 0;
  let dropNextCreateResponse = true;
  const losingFetch: typeof fetch = async (input, init) => {
    const creatingLead = init?.method === 'POST' && String(init.body).includes(marker);
    const dropping = creatingLead && dropNextCreateResponse;
    if (dropping) dropNextCreateResponse = false;
    if (dropping && lost === 'request') throw new TypeError('fetch failed: connect ECONNRESET');
    const response = await fetch(input, init);
    if (dropping) throw new TypeError('fetch failed: socket hang up');
    return response;
  };
  const h = await createSyncHarness(provider, {
    simulator: { contacts: 20, seed: 3, ...simulator },
    runner: {
      clock: () => new Date(Date.now() + offsetMs),
      providerOptions: () => ({ fetch: losingFetch }),
    },
  });
  const first = await h.run();
  if (!first.ok) throw new Error(first.error.message);
  const saved = await h.store.upsertContacts({
    tenantId: h.tenantId,
    contacts: [{ id: LEAD_ID, contact: sent }],
    now: new Date(),
  });
  if (!saved.ok) throw new Error(saved.error.message);
  const before = await h.sim.control.stats();

  const failed = await h.run();
  if (!failed.ok) throw new Error(failed.error.message);
  expect(failed.value.state).toBe('backoff');
  expect(failed.value.context.lastError?.phase).toBe('pushing');
  expect(dropNextCreateResponse).toBe(false);
  const copies = async () =>
    (await h.sim.control.records()).filter((r) =>
      JSON.stringify(r).toLowerCase().includes(marker.toLowerCase()),
    );
  const leadLinks = async () => {
    const links = await h.store.getLinksByContactIds({
      tenantId: h.tenantId,
      connectionId: h.connectionId,
      contactIds: [LEAD_ID],
    });
    if (!links.ok) throw new Error(links.error.message);
    return links.value;
  };
  const runAt = async (laterMs: number) => {
    offsetMs = laterMs;
    return must(await h.run());
  };
  const resume = async () => {
    expect((await runAt(60 * 60 * 1000)).state).toBe('idle');
  };
  /** The CRM took the lead once, and the lead is linked to that record. */
  const expectOneLinkedCreate = async () => {
    expect((await h.sim.control.stats()).creates - before.creates).toBe(1);
    const held = await copies();
    expect(held).toHaveLength(1);
    expect((await leadLinks()).map((l) => l.externalId)).toEqual([idOf(held[0])]);
  };
  return { h, before, copies, leadLinks, runAt, resume, expectOneLinkedCreate };
}

/** The record's id, whatever the provider calls it. */
export function idOf(record: unknown): string {
  const r = record as { id?: string; OID?: string };
  return String(r.id ?? r.OID);
}
