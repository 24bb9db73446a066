-- Intervals are whole minutes: the scheduler ticks once a minute and takes a connection in the minute its next run
-- falls in, so 90 s ran a cycle every minute, 150 s every 2. One stored before is set to what it ran as: its
-- whole minutes, at least one.
UPDATE tenants SET sync_interval_seconds = greatest(60, sync_interval_seconds - sync_interval_seconds % 60)
WHERE sync_interval_seconds % 60 <> 0;
UPDATE connections SET sync_interval_seconds = greatest(60, sync_interval_seconds - sync_interval_seconds % 60)
WHERE sync_interval_seconds % 60 <> 0;
