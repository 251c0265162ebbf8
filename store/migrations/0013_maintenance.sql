-- opsui schema, version 13: maintenance mode. One row per app and
-- environment that was ever put in maintenance (opsui maintenance on|off,
-- deploy --maintenance): on or off now, the message the balancers answer
-- with, Retry-After in seconds, who changed it, since when, and the run
-- that did (run_id 0: none). IF NOT EXISTS lets a database rewound to an
-- older version for a test be migrated again.
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
