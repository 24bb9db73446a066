-- The link a write's 404 dropped (the CRM no longer has the record: deleted, or merged into the person's other
-- record), one per contact and connection: the record the CRM keeps for the person, when it next comes in, merges
-- against this base as the dropped record would have, so NurtureHub edits made since are not taken for conflicts
-- the CRM wins. Cleared when the contact is linked in the connection again.
CREATE TABLE gone_links (
  tenant_id uuid NOT NULL,
  connection_id uuid NOT NULL,
  contact_id uuid NOT NULL,
  external_id text NOT NULL,
  base jsonb NOT NULL,
  gone_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, connection_id, contact_id),
  FOREIGN KEY (tenant_id, connection_id) REFERENCES connections (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id) ON DELETE CASCADE
);
ALTER TABLE gone_links ALTER COLUMN base SET STATISTICS 0;
