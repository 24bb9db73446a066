-- Match keys lose their foreign key to contacts: its check ran once per key row (about a dozen per contact), 40%
-- of a first sync's key inserts on PGlite. `replaceMatchKeys` checks the batch's contacts in one query instead,
-- and contacts are never deleted, so the cascade had nothing to do.
ALTER TABLE contact_match_keys DROP CONSTRAINT contact_match_keys_tenant_id_contact_id_fkey;
