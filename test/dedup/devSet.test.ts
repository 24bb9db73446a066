import { describe, expect, it } from 'vitest';
import { clusterRecords } from '../../src/core/dedup/cluster.ts';
import { toMatchRecord } from '../../src/core/dedup/matchRecord.ts';
import { type DevContact, generateUkContacts } from '../fixtures/ukContacts.ts';

function evaluate(rows: readonly DevContact[]) {
  const { clusters } = clusterRecords(rows.map((row) => toMatchRecord(row.id, row.fields)));
  const byId = new Map(rows.map((row) => [row.id, row]));
  let predicted = 0;
  let correct = 0;
  const mergedTraps: string[] = [];
  for (const cluster of clusters) {
    for (let x = 0; x < cluster.length; x++) {
      for (let y = x + 1; y < cluster.length; y++) {
        const a = byId.get(cluster[x] ?? '') as DevContact;
        const b = byId.get(cluster[y] ?? '') as DevContact;
        predicted++;
        if (a.entity === b.entity) correct++;
        else if (a.trap !== null && a.trap === b.trap) mergedTraps.push(`${a.id}+${b.id}`);
      }
    }
  }
  const perEntity = new Map<string, number>();
  for (const row of rows) perEntity.set(row.entity, (perEntity.get(row.entity) ?? 0) + 1);
  const truePairs = [...perEntity.values()].reduce((sum, k) => sum + (k * (k - 1)) / 2, 0);
  return { precision: correct / predicted, recall: correct / truePairs, mergedTraps, truePairs };
}

describe('the generated UK development set', () => {
  it.each([11, 29])('keeps every hard negative apart and finds the duplicates (seed %i)', (seed) => {
    const rows = generateUkContacts({ seed, people: 1500 });
    const result = evaluate(rows);
    expect(result.truePairs).toBeGreaterThan(500);
    expect(result.mergedTraps).toEqual([]);
    expect(result.precision).toBeGreaterThanOrEqual(0.995);
    expect(result.recall).toBeGreaterThanOrEqual(0.95);
  });

  it('holds households, twins, namesakes, shared e-mails and landline-only households as traps', () => {
    const rows = generateUkContacts({ seed: 11, people: 1500 });
    const traps = new Set(rows.flatMap((row) => (row.trap ? [row.trap] : [])));
    expect([...traps].some((t) => t.startsWith('household'))).toBe(true);
    expect([...traps].some((t) => t.startsWith('namesake'))).toBe(true);
    expect([...traps].some((t) => t.startsWith('landline'))).toBe(true);
  });
});
