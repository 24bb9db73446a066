import { canonicalJson } from '../../src/core/canonicalJson.ts';
import type { StartedSimulator } from '../support/simulators.ts';
import type { WorldObservation } from './soakWorld.ts';

/** One CRM simulator's end state: its records without ids, versions and instants, and its create count. */
export interface CrmState {
  records: string[];
  creates: number;
}

/**
 * Keys whose values differ between two runs of the same edits for reasons that are not the contact's:
 * record ids (the simulator numbers creates as they arrive), server versions and timestamps.
 */
const RUN_SPECIFIC_KEYS = new Set([
  'id',
  'OID',
  'contactId',
  '_eTag',
  'versionNumber',
  '_sim',
  'created',
  'modified',
  'createdAt',
  'modifiedAt',
  'updatedAt',
  'created_at',
  'updated_at',
]);
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

/** A wire record as the values it holds: run-specific keys dropped, instants kept only as "set". */
export function canonicalRecord(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonicalRecord);
  if (typeof value === 'string') return INSTANT.test(value) ? '<instant>' : value;
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !RUN_SPECIFIC_KEYS.has(key))
      .map(([key, v]) => [key, canonicalRecord(v)]),
  );
}

/** The first e-mail address a record holds, whatever the provider calls the field; else its content. */
export function crmIdentity(canonical: string): string {
  return canonical.match(/[\w.+'-]+@[\w-]+(\.[\w-]+)+/)?.[0]?.toLowerCase() ?? canonical;
}

export async function crmRecords(sims: Map<string, StartedSimulator>): Promise<Map<string, CrmState>> {
  const states = new Map<string, CrmState>();
  for (const [key, sim] of sims) {
    const records = (await sim.control.records()).map((r) => canonicalJson(canonicalRecord(r))).sort();
    states.set(key, { records, creates: (await sim.control.stats()).creates });
  }
  return states;
}

export interface WorldEnd {
  observation: WorldObservation;
  crm: Map<string, CrmState>;
}

export interface Difference {
  where: string;
  /** Values only the faulted world holds (first few). */
  faultedOnly: string[];
  /** Values only the fault-free replay holds (first few). */
  replayOnly: string[];
}

export interface Comparison {
  comparison: 'identical' | Difference[];
  /** Records (CRM or local) of the replay that the faulted world does not hold with the same values. */
  lostUpdates: number;
  /** Copies of one identity beyond the replay's count. */
  duplicateContacts: { local: number; crm: number };
  crmCreates: { faulted: number; replay: number };
  doubledEngagement: number;
  missingEngagement: number;
  cyclesAuditedOnce: boolean;
  allIdle: boolean;
  /** What went wrong, in words (empty when every check holds). */
  problems: string[];
  passed: boolean;
}

/** Multiset difference: the items of `a` left after removing one of each item of `b`. */
function minus(a: string[], b: string[]): string[] {
  const counts = new Map<string, number>();
  for (const x of b) counts.set(x, (counts.get(x) ?? 0) + 1);
  return a.filter((x) => {
    const n = counts.get(x) ?? 0;
    if (n > 0) counts.set(x, n - 1);
    return n === 0;
  });
}

function extraCopies(faulted: Map<string, number>, replay: Map<string, number>): number {
  let extra = 0;
  for (const [identity, n] of faulted) extra += Math.max(0, n - (replay.get(identity) ?? 0));
  return extra;
}

const countBy = (items: string[], key: (item: string) => string) => {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
};

export function compareWorlds(faulted: WorldEnd, replay: WorldEnd): Comparison {
  const differences: Difference[] = [];
  let lost = 0;
  let crmDuplicates = 0;
  let localDuplicates = 0;
  const sides: Array<{ where: string; faulted: string[]; replay: string[]; crm: boolean }> = [
    ...[...replay.crm.keys()].map((key) => ({
      where: `crm ${key}`,
      faulted: faulted.crm.get(key)?.records ?? [],
      replay: replay.crm.get(key)?.records ?? [],
      crm: true,
    })),
    ...[...replay.observation.local.keys()].map((tenant) => ({
      where: `local ${tenant}`,
      faulted: faulted.observation.local.get(tenant) ?? [],
      replay: replay.observation.local.get(tenant) ?? [],
      crm: false,
    })),
  ];
  for (const side of sides) {
    const faultedOnly = minus(side.faulted, side.replay);
    const replayOnly = minus(side.replay, side.faulted);
    lost += replayOnly.length;
    if (side.crm)
      crmDuplicates += extraCopies(countBy(side.faulted, crmIdentity), countBy(side.replay, crmIdentity));
    if (faultedOnly.length + replayOnly.length > 0)
      differences.push({
        where: side.where,
        faultedOnly: faultedOnly.slice(0, 3),
        replayOnly: replayOnly.slice(0, 3),
      });
  }
  for (const [tenant, identities] of faulted.observation.identities)
    localDuplicates += extraCopies(identities, replay.observation.identities.get(tenant) ?? new Map());

  const creates = (end: WorldEnd) => [...end.crm.values()].reduce((sum, s) => sum + s.creates, 0);
  const crmCreates = { faulted: creates(faulted), replay: creates(replay) };
  const problems = [
    ...(crmCreates.faulted === crmCreates.replay
      ? []
      : [`the faulted CRMs accepted ${crmCreates.faulted} creates, the replay's ${crmCreates.replay}`]),
    ...[faulted, replay].flatMap((end, i) => {
      const world = i === 0 ? 'faulted' : 'replay';
      const o = end.observation;
      return [...o.audits.problems, ...o.notIdle.map((n) => `not idle: ${n}`), ...o.engagement.details].map(
        (p) => `${world}: ${p}`,
      );
    }),
  ];
  const doubledEngagement = faulted.observation.engagement.doubled;
  const missingEngagement = faulted.observation.engagement.missing;
  const cyclesAuditedOnce =
    faulted.observation.audits.problems.length + replay.observation.audits.problems.length === 0;
  const allIdle = faulted.observation.notIdle.length + replay.observation.notIdle.length === 0;
  return {
    comparison: differences.length === 0 ? 'identical' : differences,
    lostUpdates: lost,
    duplicateContacts: { local: localDuplicates, crm: crmDuplicates },
    crmCreates,
    doubledEngagement,
    missingEngagement,
    cyclesAuditedOnce,
    allIdle,
    problems: problems.slice(0, 50),
    passed: differences.length === 0 && problems.length === 0,
  };
}
