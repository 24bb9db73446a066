-- A link is looked up by its contact within one connection (the local change feed, the links of matched
-- contacts). With (tenant, contact) alone the planner, on statistics taken while the table was small, ANDed each
-- look-up with a bitmap of the connection's every link from the primary key: 88 ms a contact at 1,000,000 links,
-- five seconds of a 100-edit delta cycle. An index holding all three columns leaves it nothing to AND.
CREATE INDEX links_contact_connection_idx ON links (tenant_id, contact_id, connection_id);
DROP INDEX links_contact_idx;
