-- Each contact keeps its match record (its fields normalised for matching, versioned JSON) beside its document,
-- written with it: a candidate is read as that short text instead of its document normalised again, which at
-- 100,000 contacts was the largest cost of a first sync. Contacts written before stay NULL and are normalised
-- from their documents when read, until their next change.
ALTER TABLE contacts ADD COLUMN match_record text;
