-- opsui schema, version 9: deploy safety. migration_checks keeps the
-- compatibility verdict of the migrations each release brought (ops: the
-- operations as JSON, each with its file, operation, verdict and reason) and
-- why a breaking one was let through (allowed: '' when it was not needed).
CREATE TABLE migration_checks (
  app TEXT NOT NULL,
  env TEXT NOT NULL,
  release_id TEXT NOT NULL,
  host TEXT NOT NULL,
  verdict TEXT NOT NULL CHECK (verdict IN ('safe', 'unknown', 'breaking')),
  ops TEXT NOT NULL DEFAULT '[]',
  error TEXT NOT NULL DEFAULT '',
  allowed TEXT NOT NULL DEFAULT '',
  checked_at INTEGER NOT NULL,
  PRIMARY KEY (app, env, release_id)
);
-- freezes are the windows in which deploys and config changes of an
-- environment are refused: source 'fleet' (the fleet file's freezes:,
-- replaced by every import) or 'team' (opsui freeze add). start_at/end_at
-- are as written, in time_zone; every is '' (once) or 'week'.
CREATE TABLE freezes (
  id INTEGER PRIMARY KEY,
  env TEXT NOT NULL,
  reason TEXT NOT NULL,
  start_at TEXT NOT NULL,
  end_at TEXT NOT NULL,
  every TEXT NOT NULL DEFAULT '' CHECK (every IN ('', 'week')),
  time_zone TEXT NOT NULL DEFAULT '',
  source TEXT NOT NULL CHECK (source IN ('fleet', 'team')),
  created_by TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  position INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX freezes_env ON freezes(env);
-- break_glass records each deploy or config change let through a freeze:
-- who, why, and the freeze it overrode.
CREATE TABLE break_glass (
  id INTEGER PRIMARY KEY,
  app TEXT NOT NULL,
  env TEXT NOT NULL,
  release_id TEXT NOT NULL,
  operator TEXT NOT NULL,
  reason TEXT NOT NULL,
  overridden TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX break_glass_release ON break_glass(app, env, release_id);
