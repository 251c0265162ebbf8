-- opsui schema, version 8: what opsui rendered into each host's shared/.env,
-- as one keyed hash (HMAC-SHA256) per value, never the value: env diff tells
-- a host whose .env differs from the fleet's or its peers' without a secret
-- in the database. secret names the secret a value came from ('' for a plain
-- value). The hash key is random, made once per database.
CREATE TABLE env_hash_key (
  id INTEGER PRIMARY KEY, -- always 1: one key per database
  hash_key TEXT NOT NULL
);
CREATE TABLE env_hashes (
  app TEXT NOT NULL,
  env TEXT NOT NULL,
  host TEXT NOT NULL,
  name TEXT NOT NULL,
  hash TEXT NOT NULL,
  secret TEXT NOT NULL DEFAULT '',
  rendered_at TEXT NOT NULL,
  PRIMARY KEY (app, env, host, name)
);
