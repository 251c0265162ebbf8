-- opsui schema, version 2: deploy locks. The lock itself lives on the hosts
-- (<deploy_to>/.opsui-lock/, mkdir is atomic); this is its record, so a lock
-- left by a process that died can be reported and its breaking is recorded.
CREATE TABLE locks (
    id           INTEGER PRIMARY KEY,
    app          TEXT NOT NULL,
    env          TEXT NOT NULL,
    run_id       INTEGER REFERENCES runs(id) ON DELETE SET NULL,
    operator     TEXT NOT NULL,
    machine      TEXT NOT NULL DEFAULT '',
    pid          INTEGER NOT NULL DEFAULT 0,
    token        TEXT NOT NULL,
    hosts        TEXT NOT NULL DEFAULT '[]',
    acquired_at  INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL,
    released_at  INTEGER NOT NULL DEFAULT 0,
    -- who broke it with opsui unlock, and when (0: not broken)
    broken_by    TEXT NOT NULL DEFAULT '',
    broken_at    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX locks_open ON locks(app, env, released_at);
CREATE UNIQUE INDEX locks_token ON locks(token);
