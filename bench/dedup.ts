import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { candidatePairs } from '../src/core/dedup/blocking.ts';
import { clusterRecords } from '../src/core/dedup/cluster.ts';
import { parseFieldMap, rowToMatchFields } from '../src/core/dedup/fieldMap.ts';
import { valueFrequencies } from '../src/core/dedup/frequencies.ts';
import { type MatchRecord, toMatchRecord } from '../src/core/dedup/matchRecord.ts';
import { isConflict, scorePair } from '../src/core/dedup/scorePair.ts';
import { benchArgs } from './benchArgs.ts';
import { dataDirExists, type LabelledSet, loadSets } from './dedupSets.ts';

// It takes no flags: one given is a mistake, not to be run past.
benchArgs('bench:dedup', {});

/**
 * Scores the labelled sets of ../shared/data at the shipped threshold and prints one JSON line per set:
 * pairwise precision, recall and F1 over pairs derived from the output clusters (the README's scoring rule;
 * pairs blocking never generated count as missed), plus the blocking ceiling and the share of true pairs that a
 * conflict rule (the hard-negative rules) refuses.
 */
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = resolve(repoRoot, '../shared/data');
if (!dataDirExists(dataDir)) {
  process.stderr.write(
    `bench:dedup: labelled data not found at ${dataDir} (expected shared/ beside the repo)\n`,
  );
  process.exit(1);
}

function scoreSet(set: LabelledSet) {
  const started = performance.now();
  const columns = Object.keys(set.rows[0] ?? {});
  const map = parseFieldMap(set.map, columns);
  if (!map.ok) throw new Error(`bad mapping for ${set.name}: ${JSON.stringify(map.error)}`);
  const records = set.rows.map((row, i) => toMatchRecord(String(i), rowToMatchFields(row, map.value)));
  const { clusters, candidatePairs: compared } = clusterRecords(records);
  const seconds = (performance.now() - started) / 1000;

  const counts = (indexes: readonly number[]) => pairCounts(indexes, set);
  const truth = counts(set.entities.map((_, i) => i));
  const predicted = clusters.reduce(
    (sum, cluster) => {
      const c = counts(cluster.map(Number));
      return { all: sum.all + c.all, same: sum.same + c.same };
    },
    { all: 0, same: 0 },
  );
  const n = records.length;
  const frequencies = valueFrequencies(records);
  let ceiling = 0;
  let conflicted = 0;
  for (const key of candidatePairs(records)) {
    const i = Math.floor(key / n);
    const j = key % n;
    if (set.entities[i] !== set.entities[j] || !crossFile(set, i, j)) continue;
    ceiling++;
    const pair = scorePair(records[i] as MatchRecord, records[j] as MatchRecord, frequencies);
    if (isConflict(pair.rule)) conflicted++;
  }
  const precision = predicted.all === 0 ? 1 : predicted.same / predicted.all;
  const recall = predicted.same / truth.same;
  return {
    set: set.name,
    task: set.task,
    records: n,
    truePairs: truth.same,
    predictedPairs: predicted.all,
    truePositives: predicted.same,
    precision: round(precision),
    recall: round(recall),
    f1: round((2 * precision * recall) / (precision + recall || 1)),
    blockingCeiling: round(ceiling / truth.same),
    truePairsInConflict: round(conflicted / truth.same),
    comparedPairs: compared,
    seconds: round(seconds, 2),
  };
}

function crossFile(set: LabelledSet, i: number, j: number): boolean {
  return set.sources === undefined || set.sources[i] !== set.sources[j];
}

/** Pairs inside a group of rows (`all`) and those of one entity (`same`); only cross-file pairs for linkage. */
function pairCounts(indexes: readonly number[], set: LabelledSet): { all: number; same: number } {
  const bySource = (list: readonly number[]) => {
    if (set.sources === undefined) return (list.length * (list.length - 1)) / 2;
    const a = list.filter((i) => set.sources?.[i] === 0).length;
    return a * (list.length - a);
  };
  const byEntity = new Map<string, number[]>();
  for (const i of indexes) {
    const entity = set.entities[i] ?? '';
    byEntity.set(entity, [...(byEntity.get(entity) ?? []), i]);
  }
  let same = 0;
  for (const group of byEntity.values()) same += bySource(group);
  return { all: bySource(indexes), same };
}

function round(value: number, digits = 4): number {
  return Number(value.toFixed(digits));
}

for (const set of loadSets(dataDir)) process.stdout.write(`${JSON.stringify(scoreSet(set))}\n`);
