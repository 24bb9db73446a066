-- No planner statistics for document columns. No query filters or joins on them, yet ANALYZE sorted a
-- sample of every one (30,000 contact documents at a time, compared as jsonb), which made it most of the
-- cost of PGlite's in-process upkeep during an initial sync (src/persistence/pgliteUpkeep.ts) and of
-- autovacuum's ANALYZE on Postgres.
ALTER TABLE contacts ALTER COLUMN data SET STATISTICS 0;
ALTER TABLE contacts ALTER COLUMN field_stamps SET STATISTICS 0;
ALTER TABLE links ALTER COLUMN base SET STATISTICS 0;
ALTER TABLE links ALTER COLUMN pushed_hashes SET STATISTICS 0;
ALTER TABLE cycle_staging ALTER COLUMN contact SET STATISTICS 0;
ALTER TABLE cycle_notes ALTER COLUMN body SET STATISTICS 0;
ALTER TABLE push_ledger ALTER COLUMN payload SET STATISTICS 0;
ALTER TABLE audit_log ALTER COLUMN body SET STATISTICS 0;
ALTER TABLE machine_snapshots ALTER COLUMN snapshot SET STATISTICS 0;
ALTER TABLE quarantine ALTER COLUMN payload SET STATISTICS 0;
