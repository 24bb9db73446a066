-- A tenant's contacts by the version of their stored match record (0 when they have none), written as
-- `matchRecordVersionSql` (sql/matchVersions.ts) reads it: contacts stored before a change of normalisation are
-- found by one index range and normalised again with their match keys, and a tenant whose every contact is current
-- answers from an empty range. An expression, not a column, so no row is rewritten to create it.
CREATE INDEX contacts_match_record_version_idx
  ON contacts (tenant_id, (coalesce(substring(match_record from '^[{]"v":([0-9]+)[,}]')::int, 0)));
