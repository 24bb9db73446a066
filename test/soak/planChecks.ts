import { equivalent } from '../../src/core/equivalentValue.ts';
import type { FieldValue } from '../../src/core/merge.ts';
import { type CanonicalContact, type ContactField, crmOwnedFields } from '../../src/core/schemas.ts';
import type { Store } from '../../src/persistence/store.ts';
import type { ProviderName } from '../../src/providers/provider.ts';
import { getProvider } from '../../src/providers/registry.ts';
import { type CrmContact, crmContactOf } from './crmView.ts';
import { leadContactId, type TenantRound } from './soakPlan.ts';
import { allContacts, resolveTarget, type SoakTenant } from './soakWorld.ts';

/**
 * Checks derived from the plan alone, run on each world by itself (a bug that happens with or without faults fails
 * them, where the comparison with the replay cannot see it):
 * - leads: each NurtureHub lead has exactly one local contact and exactly one record in each of the tenant's CRMs
 *   that can create, the one its contact links;
 * - edits: each field the plan edited (a local first-name or intent-score edit, a field a `/_sim/edits` changed) holds
 *   its final value on the local contact and in every linked CRM that stores and can be written that field (and in
 *   the CRM that made the edit), compared as the merge compares (src/core/equivalentValue.ts);
 * - identities: no identity (e-mail and surname, else name and mobile) has more local contacts, or more records in
 *   one CRM, than the simulators themselves made (seed data and agency creates through `/_sim/edits`) — at least one.
 *   The surname is part of it because agency edits give two people one e-mail address (a 200-round soak: Loop's
 *   Ava Walker and agentOS's lead Nia were both edited to karen.garridge@…), and two people they stay.
 */

/** One `/_sim/edits` call's effect on a record the CRM already held: its canonical view before and after. */
export interface CrmEdit {
  round: number;
  tenant: number;
  provider: ProviderName;
  externalId: string;
  before: CanonicalContact;
  after: CanonicalContact;
}

/** What a world's simulators did by themselves, recorded as the soak ran. */
export interface SimHistory {
  /** Per `tenantIndex/provider`: ids of the records the simulator made (seeded, or created by `/_sim/edits`). */
  simMade: Map<string, Set<string>>;
  edits: CrmEdit[];
}

export interface PlanCheck {
  leadsChecked: number;
  leadProblems: string[];
  editsChecked: number;
  editProblems: string[];
  duplicateIdentities: string[];
}

/** The CRM-owned fields `/_sim/edits` changes: not `status` (archives follow each provider's rules, below) and not
 * `dateOfBirth` (no simulator edit sets it). */
const EDIT_FIELDS: readonly ContactField[] = crmOwnedFields.filter(
  (f) => f !== 'status' && f !== 'dateOfBirth',
);

/** The canonical views of a sim's raw records; unreadable ones are reported. */
export function crmView(
  provider: ProviderName,
  raw: unknown[],
  problems: string[],
  where: string,
): CrmContact[] {
  const out: CrmContact[] = [];
  for (const r of raw) {
    const c = crmContactOf(provider, r);
    if (c === null) problems.push(`${where}: a record the ${provider} mapping cannot read`);
    else out.push(c);
  }
  return out;
}

/** The changes one `/_sim/edits` call made to records that existed before it, and the records it created. */
export function editsOf(
  provider: ProviderName,
  before: CrmContact[],
  after: CrmContact[],
  changed: string[],
): {
  edited: Array<{ externalId: string; before: CanonicalContact; after: CanonicalContact }>;
  created: string[];
} {
  const was = new Map(before.map((c) => [c.externalId, c.contact]));
  const now = new Map(after.map((c) => [c.externalId, c.contact]));
  const edited = [];
  const created = [];
  for (const id of changed) {
    const b = was.get(id);
    const a = now.get(id);
    if (b === undefined) created.push(id);
    else if (a !== undefined) edited.push({ externalId: id, before: b, after: a });
  }
  void provider;
  return { edited, created };
}

const identity = (c: CanonicalContact): string | null =>
  c.email !== null
    ? `${c.email.trim().toLowerCase()}|${c.lastName?.trim().toLowerCase() ?? ''}`
    : c.firstName === null && c.lastName === null && c.mobilePhone === null
      ? null
      : `${c.firstName}|${c.lastName}|${c.mobilePhone}`;

const capabilities = (provider: ProviderName) => {
  const entry = getProvider(provider);
  if (entry === undefined) throw new Error(`${provider} is not registered`);
  return entry.spec.capabilities;
};

export async function checkPlan(params: {
  world: string;
  store: Store;
  tenants: SoakTenant[];
  history: TenantRound[][];
  sims: SimHistory;
  /** Per `tenantIndex/provider`: the simulator's records now. */
  records: Map<string, CrmContact[]>;
}): Promise<PlanCheck> {
  const { world, store, tenants, history, sims, records } = params;
  const check: PlanCheck = {
    leadsChecked: 0,
    leadProblems: [],
    editsChecked: 0,
    editProblems: [],
    duplicateIdentities: [],
  };
  for (const [t, tenant] of tenants.entries()) {
    const contacts = await allContacts(store, tenant.tenantId);
    const byId = new Map(contacts.map((c) => [c.id, c]));
    const providerOf = new Map(tenant.connections.map((c) => [c.ref.connectionId, c.provider]));
    const connectionOf = new Map(tenant.connections.map((c) => [c.provider, c.ref.connectionId]));
    const recordsOf = (p: ProviderName) => records.get(`${t}/${p}`) ?? [];
    const recordOf = (p: ProviderName, id: string) => recordsOf(p).find((r) => r.externalId === id);
    const where = `${world} ${tenant.name}`;

    // Leads.
    const leads = history.flatMap((round) => (round[t]?.local.lead ? [round[t]?.local.lead as string] : []));
    for (const email of leads) {
      check.leadsChecked += 1;
      const marker = `Lead ${email.split('@')[0]}`;
      const id = leadContactId(tenant.name, email);
      const contact = byId.get(id);
      const isLead = (c: CanonicalContact) => c.email?.toLowerCase() === email || c.lastName === marker;
      const locals = contacts.filter((c) => c.id === id || isLead(c.contact));
      if (contact === undefined || locals.length !== 1) {
        check.leadProblems.push(`${where}: lead ${email} has ${locals.length} local contacts, expected 1`);
        continue;
      }
      for (const { provider } of tenant.connections) {
        if (!capabilities(provider).canCreate) continue;
        const link = contact.links.find((l) => l.connectionId === connectionOf.get(provider));
        const held = recordsOf(provider).filter(
          (r) => r.externalId === link?.externalId || isLead(r.contact),
        );
        if (held.length !== 1 || link === undefined || held[0]?.externalId !== link.externalId)
          check.leadProblems.push(
            `${where}: lead ${email} has ${held.length} ${provider} records (${held.map((r) => r.externalId).join(', ')}), linked ${link?.externalId ?? 'none'}; expected exactly the linked one`,
          );
      }
    }

    // Edits: the last round that edited a field of a contact sets its final value (a CRM edit and a local one in the
    // same round never touch the same field: `/_sim/edits` changes no first name and no intent score; two CRMs'
    // edits of one field in one round may end either way, the later winning).
    const finals = new Map<
      string,
      {
        contactId: string;
        field: ContactField;
        round: number;
        values: FieldValue[];
        origins: Set<ProviderName>;
      }
    >();
    const expect = (
      contactId: string,
      field: ContactField,
      round: number,
      value: FieldValue,
      origin: ProviderName | null,
    ) => {
      const key = `${contactId}\u0000${field}`;
      const found = finals.get(key);
      const entry =
        found !== undefined && found.round === round && origin !== null
          ? found
          : { contactId, field, round, values: [] as FieldValue[], origins: new Set<ProviderName>() };
      if (origin === null) entry.values = [value];
      else entry.values.push(value);
      if (origin !== null) entry.origins.add(origin);
      finals.set(key, entry);
    };
    const crmEdits = sims.edits.filter((e) => e.tenant === t);
    for (const [round, tenantRounds] of history.entries()) {
      for (const e of crmEdits.filter((x) => x.round === round)) {
        const connectionId = connectionOf.get(e.provider);
        const linked = contacts.find((c) =>
          c.links.some((l) => l.connectionId === connectionId && l.externalId === e.externalId),
        );
        if (linked === undefined) continue; // a suppressed duplicate: never linked
        // Archives and consent withdrawn at agentOS (which then shows no personal data) follow each provider's own
        // rules (Street cannot untrash, agentOS hides the person): their fields are not the plan's edits. An
        // archive may change fields as well, so it leaves those fields' earlier edits unknown too: kept, a field
        // the archive set back read as an earlier edit lost (all 3 problems of a 40-round soak).
        if (e.before.status !== 'active' || e.after.status !== 'active') {
          for (const field of EDIT_FIELDS)
            if (!equivalent(field, e.before[field], e.after[field]))
              finals.delete(`${linked.id}\u0000${field}`);
          continue;
        }
        for (const field of capabilities(e.provider).storedFields.filter((f) => EDIT_FIELDS.includes(f)))
          if (!equivalent(field, e.before[field], e.after[field]))
            expect(linked.id, field, round, e.after[field], e.provider);
      }
      for (const edit of tenantRounds[t]?.local.edits ?? []) {
        const id = await resolveTarget(store, tenant, edit.target);
        if (id === null || !byId.has(id)) continue;
        expect(id, 'firstName', round, edit.firstName, null);
        expect(id, 'intentScore', round, edit.intentScore, null);
      }
    }
    for (const f of finals.values()) {
      check.editsChecked += 1;
      const contact = byId.get(f.contactId);
      if (contact === undefined) continue;
      const local = contact.contact[f.field];
      const show = (v: unknown) => JSON.stringify(v);
      const label = `${where} ${contact.contact.email ?? contact.id} ${f.field} (round ${f.round} edit${f.origins.size > 0 ? ` at ${[...f.origins].join('+')}` : ' local'}: ${f.values.map(show).join(' or ')})`;
      if (!f.values.some((v) => equivalent(f.field, local, v))) {
        check.editProblems.push(`${label}: local contact holds ${show(local)}`);
        continue;
      }
      for (const link of contact.links) {
        const provider = providerOf.get(link.connectionId);
        if (provider === undefined) continue;
        const caps = capabilities(provider);
        const writable = caps.storedFields.includes(f.field) && caps.writableFields.includes(f.field);
        const origin = f.origins.has(provider) && f.values.length === 1;
        if (!writable && !origin) continue;
        const record = recordOf(provider, link.externalId);
        if (record === undefined) {
          check.editProblems.push(`${label}: linked ${provider} record ${link.externalId} missing`);
          continue;
        }
        if (record.contact.status !== 'active') continue;
        if (!equivalent(f.field, record.contact[f.field], local))
          check.editProblems.push(
            `${label}: ${provider} record ${link.externalId} holds ${show(record.contact[f.field])}, the local contact ${show(local)}`,
          );
      }
    }

    // Identities.
    const countIdentities = (list: CanonicalContact[]) => {
      const counts = new Map<string, number>();
      for (const c of list) {
        const i = identity(c);
        if (i !== null) counts.set(i, (counts.get(i) ?? 0) + 1);
      }
      return counts;
    };
    const madeTotals = new Map<string, number>();
    for (const { provider } of tenant.connections) {
      const made = sims.simMade.get(`${t}/${provider}`) ?? new Set<string>();
      const all = countIdentities(recordsOf(provider).map((r) => r.contact));
      const bySim = countIdentities(
        recordsOf(provider)
          .filter((r) => made.has(r.externalId))
          .map((r) => r.contact),
      );
      for (const [i, n] of bySim) madeTotals.set(i, (madeTotals.get(i) ?? 0) + n);
      for (const [i, n] of all)
        if (n > Math.max(1, bySim.get(i) ?? 0))
          check.duplicateIdentities.push(
            `${where}: ${provider} holds ${n} records of ${i}, its simulator made ${bySim.get(i) ?? 0}`,
          );
    }
    for (const [i, n] of countIdentities(contacts.map((c) => c.contact)))
      if (n > Math.max(1, madeTotals.get(i) ?? 0))
        check.duplicateIdentities.push(
          `${where}: ${n} local contacts of ${i}, the simulators made ${madeTotals.get(i) ?? 0}`,
        );
  }
  return check;
}
