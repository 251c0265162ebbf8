-- opsui schema, version 1: the inventory, releases, runs and their output.
-- Times are Unix milliseconds (UTC); 0 means "not yet".

CREATE TABLE environments (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    protected  INTEGER NOT NULL DEFAULT 0,
    strategy   TEXT NOT NULL DEFAULT '',
    batch_size INTEGER NOT NULL DEFAULT 0,
    position   INTEGER NOT NULL DEFAULT 0
);

-- Default settings per role (JSON of inventory.RoleSettings).
CREATE TABLE role_defaults (
    role     TEXT PRIMARY KEY,
    settings TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE apps (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    repo          TEXT NOT NULL,
    deploy_to     TEXT NOT NULL,
    keep_releases INTEGER NOT NULL DEFAULT 0,
    preset        TEXT NOT NULL DEFAULT '',
    -- shared entries, stages, migrate commands and health check (JSON)
    config        TEXT NOT NULL DEFAULT '{}',
    position      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE hosts (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    address       TEXT NOT NULL,
    port          INTEGER NOT NULL DEFAULT 0 CHECK (port BETWEEN 0 AND 65535),
    user          TEXT NOT NULL DEFAULT '',
    env_id        INTEGER REFERENCES environments(id) ON DELETE RESTRICT,
    deploy_to     TEXT NOT NULL DEFAULT '',
    identity_file TEXT NOT NULL DEFAULT '',
    proxy_jump    TEXT NOT NULL DEFAULT '',
    forward_agent INTEGER NOT NULL DEFAULT 0,
    -- per-role overrides (JSON map of role -> inventory.RoleSettings)
    settings      TEXT NOT NULL DEFAULT '{}',
    position      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX hosts_env ON hosts(env_id);

CREATE TABLE host_roles (
    host_id  INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    role     TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (host_id, role)
) WITHOUT ROWID;
CREATE INDEX host_roles_role ON host_roles(role);

CREATE TABLE host_tags (
    host_id  INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    tag      TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (host_id, tag)
) WITHOUT ROWID;
CREATE INDEX host_tags_tag ON host_tags(tag);

-- Runs: everything opsui did to the fleet. App, env and host are kept by name,
-- not by reference, so history outlives inventory changes.
CREATE TABLE runs (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('deploy', 'rollback', 'migrate', 'flush', 'exec')),
    app           TEXT NOT NULL DEFAULT '',
    env           TEXT NOT NULL DEFAULT '',
    operator      TEXT NOT NULL,
    command       TEXT NOT NULL DEFAULT '',
    args          TEXT NOT NULL DEFAULT '[]',
    started_at    INTEGER NOT NULL,
    finished_at   INTEGER NOT NULL DEFAULT 0,
    result        TEXT NOT NULL DEFAULT 'running'
                  CHECK (result IN ('running', 'ok', 'failed', 'partial', 'cancelled', 'interrupted')),
    summary       TEXT NOT NULL DEFAULT '',
    output_pruned INTEGER NOT NULL DEFAULT 0,
    -- the opsui process running it, to tell a live run from an abandoned one
    pid           INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX runs_started ON runs(started_at DESC);
CREATE INDEX runs_kind_started ON runs(kind, started_at DESC);

CREATE TABLE releases (
    id                 INTEGER PRIMARY KEY,
    app                TEXT NOT NULL,
    env                TEXT NOT NULL,
    -- the directory name under releases/, the same on every host
    release_id         TEXT NOT NULL,
    kind               TEXT NOT NULL DEFAULT 'deploy' CHECK (kind IN ('deploy', 'rollback')),
    commit_hash        TEXT NOT NULL,
    branch             TEXT NOT NULL DEFAULT '',
    subject            TEXT NOT NULL DEFAULT '',
    operator           TEXT NOT NULL,
    strategy           TEXT NOT NULL DEFAULT '',
    started_at         INTEGER NOT NULL,
    finished_at        INTEGER NOT NULL DEFAULT 0,
    result             TEXT NOT NULL DEFAULT 'running'
                       CHECK (result IN ('running', 'success', 'failed', 'aborted', 'bad', 'rolled_back')),
    previous_id        INTEGER REFERENCES releases(id),
    rollback_target_id INTEGER REFERENCES releases(id),
    migrations_applied INTEGER NOT NULL DEFAULT 0,
    run_id             INTEGER REFERENCES runs(id) ON DELETE SET NULL,
    hosts              TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX releases_latest ON releases(app, env, started_at DESC);
CREATE INDEX releases_commit ON releases(commit_hash);
CREATE INDEX releases_release_id ON releases(app, env, release_id);

CREATE TABLE run_hosts (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    host        TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'queued'
                CHECK (status IN ('queued', 'connecting', 'running', 'ok', 'failed', 'cancelled', 'skipped')),
    stage       TEXT NOT NULL DEFAULT '',
    exit_code   INTEGER,
    started_at  INTEGER NOT NULL DEFAULT 0,
    finished_at INTEGER NOT NULL DEFAULT 0,
    duration_ms INTEGER NOT NULL DEFAULT 0,
    error_class TEXT NOT NULL DEFAULT '',
    error       TEXT NOT NULL DEFAULT '',
    UNIQUE (run_id, host)
);
CREATE INDEX run_hosts_host ON run_hosts(host, run_id DESC);

-- The complete output of each host in a run, in ordered chunks.
CREATE TABLE run_output (
    run_host_id INTEGER NOT NULL REFERENCES run_hosts(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    stream      TEXT NOT NULL CHECK (stream IN ('stdout', 'stderr', 'meta')),
    at          INTEGER NOT NULL,
    data        BLOB NOT NULL,
    PRIMARY KEY (run_host_id, seq)
) WITHOUT ROWID;
