-- Reconcile no longer marks each staged record (an UPDATE of every staged row, each leaving a dead row to
-- vacuum): it reads the staging in external id order and notes in each batch's transaction how far it got
-- (a `reconciled:` cycle note). The primary key (connection_id, cycle_id, external_id) serves that scan.
DROP INDEX cycle_staging_pending_idx;
ALTER TABLE cycle_staging DROP COLUMN reconciled;
