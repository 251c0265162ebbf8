-- opsui schema, version 15 (as migrations/0015_run_progress.sql; each
-- statement can run again): a run's batch under way. Here also what
-- wakes a teammate's opsui at once: a new batch on the runs channel (the
-- presence line), and each write of a host's row (its state, or its
-- output: AppendOutputs counts the bytes in the row in the same
-- transaction) on opsui_output with the run's id, so a console following
-- that run reads what is new when it is committed.
CREATE TABLE IF NOT EXISTS run_progress (
    run_id  BIGINT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    batch   BIGINT NOT NULL CHECK (batch BETWEEN 1 AND 1000000),
    batches BIGINT NOT NULL CHECK (batches BETWEEN 1 AND 1000000),
    at      BIGINT NOT NULL
);

CREATE OR REPLACE FUNCTION opsui_notify_progress() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('opsui_runs', NEW.run_id::text);
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS run_progress_notify ON run_progress;
CREATE TRIGGER run_progress_notify AFTER INSERT OR UPDATE ON run_progress
    FOR EACH ROW EXECUTE FUNCTION opsui_notify_progress();

CREATE OR REPLACE FUNCTION opsui_notify_output() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('opsui_output', NEW.run_id::text);
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS run_hosts_notify ON run_hosts;
CREATE TRIGGER run_hosts_notify AFTER UPDATE ON run_hosts
    FOR EACH ROW EXECUTE FUNCTION opsui_notify_output();
