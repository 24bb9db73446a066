-- Work in progress of one cycle: inbound records staged page by page by the fetch phase, and the notes
-- (conflicts, suppressed duplicates, errors, outbound results) the later phases leave for the audit.
-- Both are cleared in the audit transaction, so a crashed cycle resumes from exactly what it had.

CREATE TABLE cycle_staging (
  tenant_id uuid NOT NULL,
  connection_id uuid NOT NULL,
  cycle_id text NOT NULL,
  external_id text NOT NULL,
  -- The provider's modified value as sent (the cursor keeps it untouched) and, when it reads as one,
  -- as an instant for ordering.
  modified text NOT NULL,
  modified_at timestamptz,
  version text,
  removed boolean NOT NULL,
  contact jsonb NOT NULL,
  content_hash text NOT NULL,
  reconciled boolean NOT NULL DEFAULT false,
  PRIMARY KEY (connection_id, cycle_id, external_id),
  FOREIGN KEY (tenant_id, connection_id) REFERENCES connections (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX cycle_staging_pending_idx ON cycle_staging (connection_id, cycle_id, external_id) WHERE NOT reconciled;

CREATE TABLE cycle_notes (
  tenant_id uuid NOT NULL,
  connection_id uuid NOT NULL,
  cycle_id text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('conflict', 'duplicate', 'error', 'written', 'meta')),
  -- Re-running a phase writes the same keys again: a note is recorded once.
  note_key text NOT NULL,
  body jsonb NOT NULL,
  seq bigserial NOT NULL,
  PRIMARY KEY (connection_id, cycle_id, kind, note_key),
  FOREIGN KEY (tenant_id, connection_id) REFERENCES connections (tenant_id, id) ON DELETE CASCADE
);

-- A write the provider refused for now (412/409/422) waits for the next cycle, which plans it afresh.
ALTER TABLE push_ledger DROP CONSTRAINT push_ledger_status_check;
ALTER TABLE push_ledger ADD CONSTRAINT push_ledger_status_check
  CHECK (status IN ('planned', 'sent', 'acknowledged', 'deferred'));
DROP INDEX push_ledger_pending_idx;
CREATE INDEX push_ledger_pending_idx ON push_ledger (connection_id, planned_at)
  WHERE status IN ('planned', 'sent');

-- The connection whose inbound record created a contact; NULL for contacts that began in NurtureHub
-- (imports, web leads), which are the ones created in the tenant's CRMs.
ALTER TABLE contacts ADD COLUMN origin_connection_id uuid;
