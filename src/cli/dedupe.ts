import type { Command } from 'commander';
import { parse } from 'csv-parse/sync';
import { clusterRecords } from '../core/dedup/cluster.ts';
import { describeFieldMapError, parseFieldMap, rowToMatchFields } from '../core/dedup/fieldMap.ts';
import { toMatchRecord } from '../core/dedup/matchRecord.ts';
import { readTextFile } from './textFile.ts';
import { UsageError } from './usageError.ts';

/** Files with more rows than this report their progress on stderr. */
const progressFromRows = 10_000;

/**
 * `dedupe FILE.csv --id COLUMN --map FIELD=COLUMN[+COLUMN…] …`: cluster the rows of a CSV export into people and
 * print `id,cluster` (cluster = id of the cluster's first row) for every row, in input order.
 */
export function registerDedupe(program: Command): void {
  program
    .command('dedupe')
    .description('find duplicate contacts in a CSV export; prints id,cluster for every row')
    .argument('<file>', 'CSV file with a header row')
    .requiredOption('--id <column>', 'column holding each row id')
    .requiredOption(
      '--map <FIELD=COLUMN...>',
      'field mapping(s) FIELD=COLUMN[+COLUMN…]; FIELD is a canonical name (firstName, lastName, title, email, mobilePhone, homePhone, ' +
        'workPhone, address.line1, address.line2, address.postcode, address.town, dateOfBirth); + joins columns',
    )
    .action((file: string, options: { id: string; map: string[] }) => {
      process.stdout.write(dedupeCsv(readCsv(file), options.id, options.map));
    });
}

interface Table {
  readonly columns: readonly string[];
  /** Each row's cells by column, and its number as a spreadsheet shows it (the header row 1, blank lines counted). */
  readonly rows: readonly { cells: Record<string, string>; row: number }[];
}

function readCsv(file: string): Table {
  const text = readTextFile(file);
  let records: Array<{ record: string[]; info: { records: number; empty_lines: number } }>;
  try {
    records = parse(text, {
      ltrim: true,
      rtrim: true,
      skip_empty_lines: true,
      bom: true,
      info: true,
      // Files joined from two exports may end lines both ways; the parser otherwise keeps the first line's. CR
      // alone ends lines in old Mac exports.
      record_delimiter: ['\r\n', '\n', '\r'],
    }) as unknown as typeof records;
  } catch (error) {
    throw new UsageError(`cannot parse ${file} as CSV: ${(error as Error).message.split('\n')[0]}`);
  }
  const header = records[0]?.record ?? [];
  const body = records.slice(1);
  if (header.length === 0) throw new UsageError(`${file} is empty: expected a header row`);
  const repeated = header.find((column, i) => header.indexOf(column) !== i);
  // Which of two same-named columns a mapping means cannot be told.
  if (repeated !== undefined)
    throw new UsageError(`column "${repeated}" appears twice in the header of ${file}`);
  return {
    columns: header,
    rows: body.map(({ record, info }) => ({
      cells: Object.fromEntries(header.map((c, i) => [c, record[i] ?? ''])),
      row: info.records + info.empty_lines,
    })),
  };
}

function dedupeCsv({ columns, rows }: Table, idColumn: string, specs: string[]): string {
  if (!columns.includes(idColumn)) throw new UsageError(`no column "${idColumn}" in the file`);
  const map = parseFieldMap(specs, columns);
  if (!map.ok) throw new UsageError(describeFieldMapError(map.error));
  refuseRepeatedIds(rows, idColumn);
  const progress =
    rows.length > progressFromRows ? (text: string) => process.stderr.write(`dedupe: ${text}\n`) : null;
  const started = performance.now();
  progress?.(`read ${rows.length} rows`);
  const records = rows.map(({ cells }) =>
    toMatchRecord(cells[idColumn] ?? '', rowToMatchFields(cells, map.value)),
  );
  progress?.(`normalised ${records.length} records; clustering`);
  const { clusterIds, clusters, candidatePairs } = clusterRecords(records);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  progress?.(`${clusters.length} clusters from ${candidatePairs} compared pairs in ${seconds} s`);
  const lines = records.map((record, i) => `${csvField(record.id)},${csvField(clusterIds[i] ?? record.id)}`);
  // Each line ends itself: a file of no rows is the header alone, not the header and an empty row.
  return ['id,cluster', ...lines].map((line) => `${line}\n`).join('');
}

/**
 * The output pairs ids, so two rows under one id (or without one) could not be told apart: refused, naming the
 * first such row.
 */
function refuseRepeatedIds(rows: Table['rows'], idColumn: string): void {
  const rowOf = new Map<string, number>();
  for (const { cells, row } of rows) {
    const id = cells[idColumn] ?? '';
    if (id === '') throw new UsageError(`row ${row} has no ${idColumn}; each row needs its own`);
    const earlier = rowOf.get(id);
    if (earlier !== undefined)
      throw new UsageError(
        `rows ${earlier} and ${row} have the same ${idColumn} "${id}"; each row needs its own`,
      );
    rowOf.set(id, row);
  }
}

const csvField = (value: string): string =>
  /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
