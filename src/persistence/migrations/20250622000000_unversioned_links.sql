-- Links without the CRM's version. In a CRM whose updates need one (Reapit's If-Match) they are the records our
-- creates made that no listing has shown yet, which the fetch reads by id (`unversionedLinks`). Partial: no
-- versioned link is held, and those of CRMs without versions are never asked for by it.
CREATE INDEX links_unversioned_idx ON links (connection_id, updated_at) WHERE remote_version IS NULL;
