-- Tenant names that differ only in letter case name the same agency: "Acme Lettings" and "acme lettings" as two
-- tenants would sync the same CRMs twice. Names are stored in Unicode NFC (the input schema normalises them), so
-- canonically equivalent spellings meet here too. `lower` folds by the database's character type; a database whose
-- name column already holds two such names fails here, naming them, and one must be renamed first.
-- remedy: rename one of them: crm-sync tenant rename NAME NEW-NAME
CREATE UNIQUE INDEX tenants_name_lower_idx ON tenants (lower(name));
