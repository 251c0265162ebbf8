-- opsui schema, version 10: config releases. A change of an app's
-- environment (opsui env set / unset / apply, rollback --config) is a run
-- and a release of kind 'config' whose commit is the one already live;
-- config_releases keeps what it changed: the environment's env block before
-- and after (JSON, plain values and secret REFERENCES only, never a secret's
-- value), the keys it added, changed or removed, and the config release it
-- undid (rollback_of). The CHECKs on runs.kind and releases.kind are widened
-- as 0005 widened the results (existing rows satisfy the wider check).
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql,
        'kind IN (''deploy'', ''rollback'', ''migrate'', ''flush'', ''exec'')',
        'kind IN (''deploy'', ''rollback'', ''migrate'', ''flush'', ''exec'', ''config'')')
    WHERE type = 'table' AND name = 'runs';
UPDATE sqlite_schema SET sql = replace(sql,
        'kind IN (''deploy'', ''rollback'')',
        'kind IN (''deploy'', ''rollback'', ''config'')')
    WHERE type = 'table' AND name = 'releases';
PRAGMA writable_schema = RESET;
CREATE TABLE config_releases (
  release_record INTEGER PRIMARY KEY REFERENCES releases(id) ON DELETE CASCADE,
  action TEXT NOT NULL CHECK (action IN ('set', 'unset', 'apply', 'rollback')),
  before_env TEXT NOT NULL DEFAULT '{}',
  after_env TEXT NOT NULL DEFAULT '{}',
  changes TEXT NOT NULL DEFAULT '[]',
  rollback_of INTEGER REFERENCES releases(id) ON DELETE SET NULL
);
