-- The `contact import` lines that matched a contact already held and were folded into it, by the line's own id
-- (uuid v5 of its content, `importedContactId`). Such a line creates no row of its own, so importing the same file
-- again matched it once more and folded its engagement in again: an enrolment or intent score an agent had cleared
-- since came back, and the next cycle sent it to the CRMs.
CREATE TABLE imported_lines (
  tenant_id uuid NOT NULL,
  line_id uuid NOT NULL,
  contact_id uuid NOT NULL,
  PRIMARY KEY (tenant_id, line_id),
  FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX imported_lines_contact_idx ON imported_lines (tenant_id, contact_id);
