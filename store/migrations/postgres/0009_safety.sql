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
  checked_at BIGINT NOT NULL,
  PRIMARY KEY (app, env, release_id)
);
