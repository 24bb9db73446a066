-- CRM records suppressed as duplicates, with the content they were suppressed with: a record read again
-- unchanged (agentOS lists everything each cycle; any provider re-reads the cursor's instant) is dropped at
-- fetch like an unchanged linked record, so a cycle's audit lists only new or changed suppressions.
-- Linking a record deletes its row.
CREATE TABLE suppressed_records (
  tenant_id uuid NOT NULL,
  connection_id uuid NOT NULL,
  external_id text NOT NULL,
  content_hash text NOT NULL,
  remote_version text,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (connection_id, external_id),
  FOREIGN KEY (tenant_id, connection_id) REFERENCES connections (tenant_id, id) ON DELETE CASCADE
);
