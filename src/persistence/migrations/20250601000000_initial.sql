-- crm-sync schema. Every row below a tenant carries tenant_id, and child rows reference their
-- parent through (tenant_id, id) pairs, so no row can point across tenants.

CREATE TABLE tenants (
  id uuid PRIMARY KEY,
  name text NOT NULL UNIQUE,
  sync_interval_seconds integer NOT NULL CHECK (sync_interval_seconds > 0),
  settings jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);

CREATE TABLE connections (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  provider text NOT NULL,
  base_url text NOT NULL,
  credentials_sealed text NOT NULL,
  enabled boolean NOT NULL DEFAULT true,
  sync_interval_seconds integer CHECK (sync_interval_seconds > 0),
  next_run_at timestamptz NOT NULL,
  lease_owner text,
  lease_expires_at timestamptz,
  lease_heartbeat_at timestamptz,
  -- The holder also holds a Postgres session advisory lock: its release means the holder is gone.
  lease_session_locked boolean NOT NULL DEFAULT false,
  -- Moved only by the cycle commit, in the same transaction as the audit row.
  cursor jsonb,
  local_cursor bigint NOT NULL DEFAULT 0,
  cursor_committed_at timestamptz,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  UNIQUE (tenant_id, provider),
  UNIQUE (tenant_id, id)
);
CREATE INDEX connections_due_idx ON connections (next_run_at) WHERE enabled;

CREATE TABLE machine_snapshots (
  connection_id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL,
  machine_version text NOT NULL,
  snapshot jsonb NOT NULL,
  state_value jsonb NOT NULL,
  updated_at timestamptz NOT NULL,
  FOREIGN KEY (tenant_id, connection_id) REFERENCES connections (tenant_id, id) ON DELETE CASCADE
);

-- Bumped on every local change; contacts.change_seq is the local cursor.
CREATE SEQUENCE local_change_seq;

CREATE TABLE contacts (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  data jsonb NOT NULL,
  field_stamps jsonb NOT NULL,
  change_seq bigint NOT NULL DEFAULT nextval('local_change_seq'),
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX contacts_change_idx ON contacts (tenant_id, change_seq);

CREATE TABLE contact_match_keys (
  tenant_id uuid NOT NULL,
  key text NOT NULL,
  contact_id uuid NOT NULL,
  PRIMARY KEY (tenant_id, key, contact_id),
  FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX contact_match_keys_contact_idx ON contact_match_keys (tenant_id, contact_id);

CREATE TABLE links (
  tenant_id uuid NOT NULL,
  connection_id uuid NOT NULL,
  external_id text NOT NULL,
  contact_id uuid NOT NULL,
  base jsonb NOT NULL,
  pushed_hashes jsonb NOT NULL,
  remote_version text,
  remote_hash text,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (connection_id, external_id),
  FOREIGN KEY (tenant_id, connection_id) REFERENCES connections (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX links_contact_idx ON links (tenant_id, contact_id);

CREATE TABLE engagement_events (
  tenant_id uuid NOT NULL,
  event_id text NOT NULL,
  contact_id uuid NOT NULL,
  kind text NOT NULL CHECK (kind IN ('email_open', 'email_click')),
  occurred_at timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, event_id),
  FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE push_ledger (
  tenant_id uuid NOT NULL,
  connection_id uuid NOT NULL,
  idempotency_key text NOT NULL,
  cycle_id text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('create', 'update')),
  contact_id uuid NOT NULL,
  external_id text,
  payload jsonb NOT NULL,
  status text NOT NULL CHECK (status IN ('planned', 'sent', 'acknowledged')),
  attempts integer NOT NULL DEFAULT 0,
  response_id text,
  response_version text,
  planned_at timestamptz NOT NULL,
  sent_at timestamptz,
  acknowledged_at timestamptz,
  PRIMARY KEY (connection_id, idempotency_key),
  FOREIGN KEY (tenant_id, connection_id) REFERENCES connections (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX push_ledger_pending_idx ON push_ledger (connection_id, planned_at) WHERE status <> 'acknowledged';

CREATE TABLE quarantine (
  tenant_id uuid NOT NULL,
  connection_id uuid NOT NULL,
  record_key text NOT NULL,
  external_id text,
  payload jsonb NOT NULL,
  error text NOT NULL,
  fields jsonb NOT NULL,
  seen_count integer NOT NULL DEFAULT 1,
  first_seen_at timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  PRIMARY KEY (connection_id, record_key),
  FOREIGN KEY (tenant_id, connection_id) REFERENCES connections (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE audit_log (
  id bigserial PRIMARY KEY,
  tenant_id uuid NOT NULL,
  connection_id uuid NOT NULL,
  provider text NOT NULL,
  cycle_id text NOT NULL,
  outcome text NOT NULL CHECK (outcome IN ('completed', 'failed')),
  started_at timestamptz NOT NULL,
  finished_at timestamptz NOT NULL,
  body jsonb NOT NULL,
  -- One entry per cycle: re-running the audit phase is a no-op.
  UNIQUE (connection_id, cycle_id),
  FOREIGN KEY (tenant_id, connection_id) REFERENCES connections (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX audit_log_tenant_idx ON audit_log (tenant_id, id DESC);
CREATE INDEX audit_log_connection_idx ON audit_log (connection_id, id DESC);
