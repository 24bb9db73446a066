-- The calls in a connection's rate windows (the last minute's, at most), as the last process that ran it saved
-- them: the next process, or the next Inngest step on another replica, counts them before it calls. The windows
-- lived in one process's memory, and a phase taken up elsewhere began with them empty: agentOS (50 a minute, a
-- key that goes on past its 429 may be blocked) got a second minute's budget at once.
CREATE TABLE recent_calls (
  connection_id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL,
  calls jsonb NOT NULL,
  FOREIGN KEY (tenant_id, connection_id) REFERENCES connections (tenant_id, id) ON DELETE CASCADE
);
