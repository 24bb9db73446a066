-- The change sequence number of the contact as a connection's reconcile last wrote or confirmed it. The
-- connection's next look at local changes skips a contact still at that number: the change is its own.
ALTER TABLE links ADD COLUMN synced_seq bigint;
