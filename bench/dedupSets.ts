import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';

/** One labelled benchmark set, read into rows with the truth entity of each. */
export interface LabelledSet {
  /** Name printed in the JSON line. */
  readonly name: string;
  readonly task: 'dedupe' | 'link';
  /** Rows as column → value. */
  readonly rows: readonly Record<string, string>[];
  /** Column of the row id. */
  readonly idColumn: string;
  /** Entity key per row (same key = same person). */
  readonly entities: readonly string[];
  /** For linkage: which file each row came from (pairs count only across files). */
  readonly sources?: readonly number[];
  /** `FIELD=COLUMN[+COLUMN]` mappings, exactly as the `dedupe` command takes them. */
  readonly map: readonly string[];
}

const febrlMap = [
  'firstName=given_name',
  'lastName=surname',
  'address.line1=street_number+address_1',
  'address.line2=address_2',
  'address.town=suburb',
  'address.postcode=postcode',
  'dateOfBirth=date_of_birth',
];

export function readCsv(path: string): Record<string, string>[] {
  return parse(readFileSync(path), { columns: true, ltrim: true, skip_empty_lines: true });
}

const febrlEntity = (row: Record<string, string>): string => /^rec-(\d+)-/.exec(row.rec_id ?? '')?.[1] ?? '';

/** The labelled sets of shared/data, in the order the benchmark prints them. */
export function loadSets(dataDir: string): LabelledSet[] {
  const febrl = (n: string): LabelledSet => {
    const rows = readCsv(join(dataDir, 'febrl', `febrl_dataset${n}.csv`));
    return {
      name: `febrl${n}`,
      task: 'dedupe',
      rows,
      idColumn: 'rec_id',
      entities: rows.map(febrlEntity),
      map: febrlMap,
    };
  };
  const a = readCsv(join(dataDir, 'febrl', 'febrl_dataset4a.csv'));
  const b = readCsv(join(dataDir, 'febrl', 'febrl_dataset4b.csv'));
  const fake = readCsv(join(dataDir, 'splink_fake_1000', 'fake_1000.csv'));
  const historical = readCsv(join(dataDir, 'splink_historical_50k', 'historical_50k.csv'));
  return [
    febrl('1'),
    febrl('2'),
    febrl('3'),
    {
      name: 'febrl4a×4b',
      task: 'link',
      rows: [...a, ...b],
      idColumn: 'rec_id',
      entities: [...a, ...b].map(febrlEntity),
      sources: [...a.map(() => 0), ...b.map(() => 1)],
      map: febrlMap,
    },
    {
      name: 'fake_1000',
      task: 'dedupe',
      rows: fake,
      idColumn: 'unique_id',
      entities: fake.map((r) => r.cluster ?? ''),
      map: [
        'firstName=first_name',
        'lastName=surname',
        'dateOfBirth=dob',
        'address.town=city',
        'email=email',
      ],
    },
    {
      name: 'historical_50k',
      task: 'dedupe',
      rows: historical,
      idColumn: 'unique_id',
      entities: historical.map((r) => r.cluster ?? ''),
      map: [
        'firstName=first_name',
        'lastName=surname',
        'dateOfBirth=dob',
        'address.postcode=postcode_fake',
        'address.town=birth_place',
      ],
    },
  ];
}

export const dataDirExists = (dataDir: string): boolean => existsSync(join(dataDir, 'README.md'));
