-- opsui schema, version 3: backends opsui took out of a load balancer. A
-- row is written when a deploy drains a backend and closed (restored_at)
-- when it is put back, so one left drained by a deploy that died is known
-- to be opsui's (put back by the next deploy, opsui unlock and
-- opsui lb restore) and never mistaken for an operator's own "down".
CREATE TABLE lb_drained (
    id          INTEGER PRIMARY KEY,
    app         TEXT NOT NULL,
    env         TEXT NOT NULL,
    balancer    TEXT NOT NULL,            -- the lb host
    backend     TEXT NOT NULL,            -- the web host drained
    addr        TEXT NOT NULL DEFAULT '', -- its name to the balancer (address:port, HAProxy server)
    run_id      INTEGER REFERENCES runs(id) ON DELETE SET NULL,
    operator    TEXT NOT NULL DEFAULT '',
    drained_at  INTEGER NOT NULL,
    restored_at INTEGER NOT NULL DEFAULT 0,
    restored_by TEXT NOT NULL DEFAULT ''
);
