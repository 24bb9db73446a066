-- Per field, the CRM record's modified instant when the CRM last sent a new value of it: between two of a tenant's
-- CRMs that both changed a field, the later edit wins (docs/sync-semantics.md, "Edits in two CRMs"). Links written
-- before hold none, and fall back to the owner's rule until their CRM sends the field again.
ALTER TABLE links ADD COLUMN field_modified jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE links ALTER COLUMN field_modified SET STATISTICS 0;
