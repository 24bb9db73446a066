-- A connection's requests of the current UTC day, counted by every process that runs it: a CRM's daily quota
-- (Reapit's 250,000) is the customer's, however many workers take the connection in turn and however often they
-- restart. Counted in each process's memory, a restarted process began the day at 0 and each worker spent the
-- whole quota, so the CRM answered 429 for the rest of the day. Adding a day's count drops the connection's
-- earlier days: at most two rows a connection (a count of yesterday saved after today's).
CREATE TABLE daily_requests (
  connection_id uuid NOT NULL,
  tenant_id uuid NOT NULL,
  day date NOT NULL,
  requests integer NOT NULL CHECK (requests >= 0),
  PRIMARY KEY (connection_id, day),
  FOREIGN KEY (tenant_id, connection_id) REFERENCES connections (tenant_id, id) ON DELETE CASCADE
);
