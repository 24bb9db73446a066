import { idempotencyKey } from '../../src/core/ids.ts';
import type { ProviderName } from '../../src/providers/provider.ts';
import { reapitDialect } from '../../src/providers/reapit/simulator.ts';
import { createRandom } from '../../src/providers/simulator/generator.ts';

/**
 * What the soak does each round, derived from its seed alone, so the faulted world and its fault-free
 * replay get exactly the same edits. Pure: no IO.
 */

/** Every registered provider, in the order a tenant's cycles run within a round. */
export const SOAK_PROVIDERS: readonly ProviderName[] = ['agentos', 'reapit', 'alto', 'street', 'loop'];
/** Contacts each CRM simulator starts with. */
export const SEEDED_CONTACTS = 12;
/** When every engagement event happened: fixed, so the two worlds compare equal. */
export const EVENT_TIME = '2026-01-05T10:00:00.000Z';

/** A local contact an input applies to: a NurtureHub lead (by e-mail) or the contact linked to a Reapit record. */
export type Target = { kind: 'lead'; email: string } | { kind: 'reapit'; externalId: string };

export interface LocalEdit {
  target: Target;
  firstName: string;
  intentScore: number;
}

export interface EventInput {
  eventId: string;
  target: Target;
  kind: 'email_open' | 'email_click';
}

/** One tenant's inputs in one round. */
export interface TenantRound {
  tenant: string;
  /** `/_sim/edits` per provider (agency users editing their CRM). */
  crmEdits: Record<ProviderName, { count: number; seed: number }>;
  /** 429s served before anything else this round, per provider (faulted world only). */
  rateLimitBursts: Record<ProviderName, number>;
  local: LocalInputs;
}

/** What the NurtureHub side does in a round; applied by whoever holds the world's store. */
export interface LocalInputs {
  edits: LocalEdit[];
  /** Ids may repeat: a webhook redelivered, within the round or from an earlier one. */
  events: EventInput[];
  /** A new NurtureHub lead's e-mail, at most one a round (see `SoakPlan.round`). */
  lead: string | null;
}

export const tenantName = (seed: number, index: number) => `soak-${seed}-agency-${index + 1}`;
/** The lead's local id: the same in both worlds, so targets and CRM metadata compare equal. */
export const leadContactId = (tenant: string, email: string) => idempotencyKey('soak-lead', tenant, email);
/** Each (tenant, provider) simulator has its own seed: its own people, in both worlds. */
export const simulatorSeed = (seed: number, tenantIndex: number, provider: ProviderName) =>
  seed * 1_000 + tenantIndex * 10 + SOAK_PROVIDERS.indexOf(provider) + 1;

const FIRST_NAMES = ['Ada', 'Bram', 'Cleo', 'Dewi', 'Esme', 'Finn'] as const;

/**
 * The rounds of one soak. Round 0 is the initial sync (no inputs). At most one lead per tenant and round:
 * creates run in parallel, so two leads in one cycle would get CRM ids in either order, and a later
 * `/_sim/edits` (which picks its target by id) would then edit different people in the two worlds.
 */
export class SoakPlan {
  private readonly leads: string[][];
  private readonly pastEvents: EventInput[][];

  constructor(
    readonly seed: number,
    readonly tenants: number,
  ) {
    this.leads = Array.from({ length: tenants }, () => []);
    this.pastEvents = Array.from({ length: tenants }, () => []);
  }

  /** Call once per round, in order. */
  round(round: number): TenantRound[] {
    return Array.from({ length: this.tenants }, (_, t) => this.tenantRound(round, t));
  }

  private tenantRound(round: number, t: number): TenantRound {
    const tenant = tenantName(this.seed, t);
    const r = createRandom(this.seed * 7_919 + round * 131 + t);
    const crmEdits = {} as TenantRound['crmEdits'];
    const rateLimitBursts = {} as TenantRound['rateLimitBursts'];
    for (const provider of SOAK_PROVIDERS) {
      crmEdits[provider] = { count: round === 0 ? 0 : r.int(0, 3), seed: r.int(1, 1_000_000) };
      rateLimitBursts[provider] = r.chance(0.15) ? r.int(2, 6) : 0;
    }
    if (round === 0)
      return { tenant, crmEdits, rateLimitBursts, local: { edits: [], events: [], lead: null } };

    const leads = this.leads[t] as string[];
    const targets: Target[] = [
      ...leads.slice(-4).map((email): Target => ({ kind: 'lead', email })),
      ...[1, 2, 3].map((n): Target => ({ kind: 'reapit', externalId: reapitDialect.newId(n) })),
    ];
    const edits = Array.from({ length: r.int(0, 2) }, () => ({
      target: r.pick(targets),
      firstName: r.pick(FIRST_NAMES),
      intentScore: r.int(0, 100),
    }));
    const fresh = Array.from(
      { length: r.int(1, 3) },
      (_, k): EventInput => ({
        eventId: `ev-${tenant}-${round}-${k}`,
        target: r.pick(targets),
        kind: r.chance(0.6) ? 'email_open' : 'email_click',
      }),
    );
    const past = this.pastEvents[t] as EventInput[];
    // Redeliveries: one event of this round twice, and sometimes one from an earlier round.
    const events = [...fresh, r.pick(fresh), ...(past.length > 0 && r.chance(0.5) ? [r.pick(past)] : [])];
    past.push(...fresh);
    const lead = r.chance(0.5) ? `lead.${round}.${t + 1}@soak.example` : null;
    if (lead !== null) leads.push(lead);
    return { tenant, crmEdits, rateLimitBursts, local: { edits, events, lead } };
  }
}

/** Distinct events per target, as the engagement counters must show them. */
export function expectedEngagement(
  rounds: TenantRound[],
): Array<{ target: Target; opens: number; clicks: number }> {
  const seen = new Map<string, EventInput>();
  for (const e of rounds.flatMap((r) => r.local.events)) if (!seen.has(e.eventId)) seen.set(e.eventId, e);
  const counts = new Map<string, { target: Target; opens: number; clicks: number }>();
  for (const e of seen.values()) {
    const key = e.target.kind === 'lead' ? `lead:${e.target.email}` : `reapit:${e.target.externalId}`;
    const c = counts.get(key) ?? { target: e.target, opens: 0, clicks: 0 };
    if (e.kind === 'email_open') c.opens += 1;
    else c.clicks += 1;
    counts.set(key, c);
  }
  return [...counts.values()];
}
