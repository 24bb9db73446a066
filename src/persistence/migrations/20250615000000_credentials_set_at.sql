-- When a connection's credentials were last replaced (`setConnectionCredentials`); NULL for those it was added with.
-- The schedule resumes a machine stopped because the CRM refused its credentials (`auth_failed`) once they are
-- replaced after that failure, with no `crm-sync retry` needed: before, such a connection stayed in error until
-- an operator also ran retry.
ALTER TABLE connections ADD COLUMN credentials_set_at timestamptz;
