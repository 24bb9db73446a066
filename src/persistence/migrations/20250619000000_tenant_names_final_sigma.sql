-- Tenant names are compared ignoring letter case (20250612000000), but `lower` keeps Greek's final sigma (ς) apart
-- from the sigma it is a form of (σ, which `lower` makes of Σ): "Οδός Lettings" and "ΟΔΌΣ LETTINGS" were two
-- tenants. Unicode case folding takes ς to σ; so does this index. A database already holding two such names fails
-- here, naming them, and one must be renamed first.
-- remedy: rename one of them: crm-sync tenant rename NAME NEW-NAME
DROP INDEX tenants_name_lower_idx;
CREATE UNIQUE INDEX tenants_name_folded_idx ON tenants (replace(lower(name), 'ς', 'σ'));
