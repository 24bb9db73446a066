-- The latest instant a write of a lease holder found gone may still reach its CRM: that holder's lease expiry (no
-- write goes out unless its time limit ends before the lease can run out), kept when a run takes a live lease over
-- (its session lock released, its pid dead). A create sent before then and not found in the CRM is sent again only
-- once that instant has passed: its holder may have been waiting on it, or died with it on its way. Kept on the row,
-- not with the run that took over, so that a run after it (that run released the lease without pushing: a reset,
-- an abandonment, a stopping process) waits as well.
ALTER TABLE connections ADD COLUMN writes_land_by timestamptz;
