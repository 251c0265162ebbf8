-- opsui schema, version 4: bounded recorded output. A run records at most a
-- set number of bytes of each host's output (the rest is counted, not
-- kept), and retention prunes old output by age and by total size.

-- output_bytes: every byte the host printed (stdout and stderr);
-- recorded_bytes: how many of them run_output keeps. They differ when the
-- record was cut; retention sums recorded_bytes instead of reading run_output.
ALTER TABLE run_hosts ADD COLUMN output_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE run_hosts ADD COLUMN recorded_bytes INTEGER NOT NULL DEFAULT 0;

UPDATE run_hosts SET recorded_bytes = (SELECT COALESCE(SUM(LENGTH(o.data)), 0) FROM run_output o
    WHERE o.run_host_id = run_hosts.id AND o.stream != 'meta');
UPDATE run_hosts SET output_bytes = recorded_bytes;

-- The runs whose output is still kept, oldest first: what retention walks.
CREATE INDEX runs_with_output ON runs(started_at, id) WHERE output_pruned = 0;
