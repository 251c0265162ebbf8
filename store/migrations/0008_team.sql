-- opsui schema, version 8: team mode. audit_log keeps the changes no run
-- records (the inventory's imports and edits), each with its operator.
-- Runs and releases get a stable unique id besides their local number, so
-- histories copied from several laptops into one database merge without
-- duplicates (store copy --merge); '' is never a run's or release's own.
CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY,
    uuid     TEXT NOT NULL,
    at       INTEGER NOT NULL,
    operator TEXT NOT NULL,
    machine  TEXT NOT NULL DEFAULT '',
    action   TEXT NOT NULL,
    summary  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log(at DESC);
CREATE UNIQUE INDEX audit_log_uuid ON audit_log(uuid);

ALTER TABLE runs ADD COLUMN uuid TEXT NOT NULL DEFAULT '';
ALTER TABLE releases ADD COLUMN uuid TEXT NOT NULL DEFAULT '';
-- Random version-4 UUIDs for the rows recorded before.
UPDATE runs SET uuid = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' ||
    substr('89ab', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)));
UPDATE releases SET uuid = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' ||
    substr('89ab', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)));
CREATE UNIQUE INDEX runs_uuid ON runs(uuid) WHERE uuid <> '';
CREATE UNIQUE INDEX releases_uuid ON releases(uuid) WHERE uuid <> '';
CREATE INDEX runs_running ON runs(result) WHERE result = 'running';
CREATE INDEX releases_run ON releases(run_id);
