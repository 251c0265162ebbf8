-- opsui schema, version 15: how far a run under way is, for teammates who
-- watch it (the console's presence line, a followed run): a deploy's
-- batch being switched, out of how many. One row per run that has
-- batches, written by its recorder when a batch starts; kept after the
-- run, so a record says how far a deploy that stopped got. It can run
-- again (a test rewinds the version to replay later steps).
CREATE TABLE IF NOT EXISTS run_progress (
    run_id  INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    batch   INTEGER NOT NULL CHECK (batch BETWEEN 1 AND 1000000),
    batches INTEGER NOT NULL CHECK (batches BETWEEN 1 AND 1000000),
    at      INTEGER NOT NULL
);
