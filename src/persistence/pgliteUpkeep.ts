import type { PGlite } from '@electric-sql/pglite';

/**
 * PGlite runs no autovacuum daemon, so nothing keeps its planner statistics or dead rows in check. Without
 * statistics the planner takes `tenant_id = $1` for a rare value and scans a whole tenant where an index
 * lookup of a batch of ids would do: at 100,000 contacts a 500-id lookup took 36–117 ms instead of 5–16 ms,
 * and kept growing with the table. This does autovacuum's job in-process, with Postgres's default thresholds:
 * ANALYZE a table once more than 50 + 10 % of its rows changed since it was last analysed, VACUUM it once more
 * than 50 + 20 % are dead or more than 1,000 + 20 % were inserted since its last VACUUM. Postgres's own daemon does
 * this for the `pg` backend.
 *
 * The insert threshold (Postgres 13's `autovacuum_vacuum_insert_threshold`) matters for a table that only grows,
 * such as the match keys a first sync writes: only VACUUM marks its pages all-visible, and until then every
 * index-only look-up of a candidate also reads the row from the table (about 6,500 such reads in a 100-edit
 * delta cycle over 1,000,000 contacts).
 *
 * Like the daemon, which visits a database once per `autovacuum_naptime` (1 min), a table is done at most once
 * per `napMs`, except the first time: a table that grows from nothing is analysed as soon as it passes the
 * threshold, which is when the planner's guesses go wrong (later growth is scaled from the table's pages, and a
 * tenant's share of the rows does not change). Without the pause a bulk load analysed and vacuumed its tables
 * after nearly every batch: 7 s of a 29 s initial sync of 10,000 contacts.
 */
export interface TableUpkeep {
  /** Count the rows a write statement touched (read from its SQL text). */
  noteWrite(sql: string, rowCount: number): void;
  /** Analyse and vacuum the tables past their thresholds; call outside any transaction. */
  runDue(): Promise<void>;
}

const ANALYZE_BASE = 50;
const ANALYZE_SCALE = 0.1;
const VACUUM_BASE = 50;
const VACUUM_SCALE = 0.2;
const INSERT_VACUUM_BASE = 1000;
const INSERT_VACUUM_SCALE = 0.2;
/** Least time between two upkeeps of one table (`autovacuum_naptime` is 60 s). */
const NAP_MS = 10_000;

// A row lock (`FOR UPDATE`, `FOR NO KEY UPDATE`) is not a write.
const writeTarget = /\b(INSERT\s+INTO|(?<!\b(?:FOR|KEY)\s+)UPDATE|DELETE\s+FROM)\s+([a-z_][a-z0-9_]*)/gi;

/**
 * The table a write statement's counted rows belong to: its last write verb's, since a statement's data-modifying
 * CTEs come before its own verb (`WITH forgotten AS (DELETE FROM a …) INSERT INTO b …` reports b's rows), and
 * an upsert's `DO UPDATE SET` names no table.
 */
function targetOf(sql: string): { verb: string; table: string } | null {
  let found: { verb: string; table: string } | null = null;
  for (const match of sql.matchAll(writeTarget)) {
    const table = match[2]?.toLowerCase();
    if (table !== undefined && table !== 'set') found = { verb: match[1]?.toUpperCase() ?? '', table };
  }
  return found;
}

interface TableCounts {
  /** Rows at the last ANALYZE (`pg_class.reltuples`, 0 when never analysed). */
  rows: number;
  modified: number;
  dead: number;
  /** Rows inserted since the last VACUUM here. */
  inserted: number;
  /** When this table was last analysed or vacuumed here (`now()` time); `null`: not since open. */
  doneAt: number | null;
}

const uncounted = (rows: number): TableCounts => ({ rows, modified: 0, dead: 0, inserted: 0, doneAt: null });

export interface TableUpkeepOptions {
  /** Milliseconds on any monotonic scale; `performance.now` by default. */
  now?: () => number;
  /** Least time between two upkeeps of one table; 10 s by default. */
  napMs?: number;
}

export async function createTableUpkeep(db: PGlite, options: TableUpkeepOptions = {}): Promise<TableUpkeep> {
  const now = options.now ?? (() => performance.now());
  const napMs = options.napMs ?? NAP_MS;
  const tables = new Map<string, TableCounts>();
  const known = await db.query<{ relname: string; reltuples: number }>(
    `SELECT c.relname, c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'r' AND n.nspname = current_schema()`,
  );
  for (const row of known.rows) {
    tables.set(row.relname, uncounted(Math.max(0, Number(row.reltuples))));
  }

  const countsOf = (table: string): TableCounts => {
    let counts = tables.get(table);
    if (counts === undefined) {
      // A table a migration created after open.
      counts = uncounted(0);
      tables.set(table, counts);
    }
    return counts;
  };

  return {
    noteWrite(sql, rowCount) {
      if (rowCount === 0) return;
      const target = targetOf(sql);
      if (target === null) return;
      const counts = countsOf(target.table);
      counts.modified += rowCount;
      const { verb } = target;
      // An upsert's updated rows leave dead versions too; counting all of them only vacuums sooner.
      if (!verb.startsWith('INSERT') || /ON\s+CONFLICT[\s\S]*DO\s+UPDATE/i.test(sql)) counts.dead += rowCount;
      else counts.inserted += rowCount;
    },

    async runDue() {
      for (const [table, counts] of tables) {
        const vacuum =
          counts.dead > VACUUM_BASE + VACUUM_SCALE * counts.rows ||
          counts.inserted > INSERT_VACUUM_BASE + INSERT_VACUUM_SCALE * counts.rows;
        const analyze = counts.modified > ANALYZE_BASE + ANALYZE_SCALE * counts.rows;
        if (!vacuum && !analyze) continue;
        // A table never analysed yet (its planner statistics are guesses) is done at once.
        const started = now();
        if (counts.doneAt !== null && counts.rows > 0 && started - counts.doneAt < napMs) continue;
        // Reset before running, so a failure is not retried on every statement.
        counts.modified = 0;
        if (vacuum) {
          counts.dead = 0;
          counts.inserted = 0;
        }
        counts.doneAt = started;
        await db.exec(`${vacuum ? 'VACUUM (ANALYZE)' : 'ANALYZE'} ${table}`);
        const after = await db.query<{ reltuples: number }>(
          'SELECT reltuples FROM pg_class WHERE relname = $1 AND relnamespace = current_schema()::regnamespace',
          [table],
        );
        counts.rows = Math.max(0, Number(after.rows[0]?.reltuples ?? 0));
      }
    },
  };
}
