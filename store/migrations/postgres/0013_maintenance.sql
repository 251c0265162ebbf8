-- opsui schema, version 13: maintenance mode (see the SQLite migration of
-- the same number).
CREATE TABLE IF NOT EXISTS maintenance (
  app TEXT NOT NULL,
  env TEXT NOT NULL,
  is_on INTEGER NOT NULL DEFAULT 0 CHECK (is_on IN (0, 1)),
  message TEXT NOT NULL DEFAULT '',
  retry_after INTEGER NOT NULL DEFAULT 0,
  operator TEXT NOT NULL DEFAULT '',
  since BIGINT NOT NULL,
  run_id BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (app, env)
);
