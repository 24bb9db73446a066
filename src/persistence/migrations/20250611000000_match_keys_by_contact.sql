-- A tenant's keys are looked up by the primary key (tenant, key): the other index no longer leads with the tenant.
-- With statistics that did not know a tenant yet (a new tenant on a database holding others: autovacuum analyses a
-- table once a tenth of it changed), the planner took `tenant_id = $1` for one row and looked each key up through
-- the (tenant, contact) index, reading every key of the tenant for every key of a batch: 21.7 s for one batch's
-- 4,634 keys beside 41,000 of the tenant, against 40 ms by the primary key. Replacing a contact's keys uses this one.
DROP INDEX contact_match_keys_contact_idx;
CREATE INDEX contact_match_keys_contact_idx ON contact_match_keys (contact_id);
