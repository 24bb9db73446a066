-- An audit entry's lists (conflicts, suppressed duplicates, errors) as rows of their own. The first sync of a
-- large CRM lists every duplicate it suppressed (about 200,000 at 1,000,000 contacts): as one jsonb body the
-- commit built the whole list in memory (on PGlite, in the process: about 170 MB more for 200,000), and every
-- page a reader asked for made the database read all of it again. A page is now a range of the primary key.
CREATE TABLE audit_items (
  audit_id bigint NOT NULL REFERENCES audit_log (id) ON DELETE CASCADE,
  list text NOT NULL CHECK (list IN ('conflicts', 'duplicatesSuppressed', 'errors')),
  -- From 0, in the order the cycle noted them.
  position integer NOT NULL,
  item jsonb NOT NULL,
  PRIMARY KEY (audit_id, list, position)
);
ALTER TABLE audit_items ALTER COLUMN item SET STATISTICS 0;

ALTER TABLE audit_log
  ADD COLUMN conflict_count integer NOT NULL DEFAULT 0,
  ADD COLUMN duplicate_count integer NOT NULL DEFAULT 0,
  ADD COLUMN error_count integer NOT NULL DEFAULT 0;

INSERT INTO audit_items (audit_id, list, position, item)
SELECT a.id, l.list, e.ordinality - 1, e.item
FROM audit_log a
CROSS JOIN (VALUES ('conflicts'), ('duplicatesSuppressed'), ('errors')) AS l(list)
CROSS JOIN LATERAL jsonb_array_elements(coalesce(a.body -> l.list, '[]'::jsonb)) WITH ORDINALITY AS e(item, ordinality);

UPDATE audit_log SET
  conflict_count = jsonb_array_length(coalesce(body -> 'conflicts', '[]'::jsonb)),
  duplicate_count = jsonb_array_length(coalesce(body -> 'duplicatesSuppressed', '[]'::jsonb)),
  error_count = jsonb_array_length(coalesce(body -> 'errors', '[]'::jsonb)),
  body = body - 'conflicts' - 'duplicatesSuppressed' - 'errors';
