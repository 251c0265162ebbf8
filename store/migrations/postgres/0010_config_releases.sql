-- opsui schema, version 10: config releases (see the SQLite migration of
-- the same number): kind 'config' in runs and releases, and what each
-- config release changed, secret references only.
ALTER TABLE runs DROP CONSTRAINT runs_kind_check;
ALTER TABLE runs ADD CONSTRAINT runs_kind_check CHECK (kind IN ('deploy', 'rollback', 'migrate', 'flush', 'exec', 'config'));
ALTER TABLE releases DROP CONSTRAINT releases_kind_check;
ALTER TABLE releases ADD CONSTRAINT releases_kind_check CHECK (kind IN ('deploy', 'rollback', 'config'));
CREATE TABLE config_releases (
  release_record BIGINT PRIMARY KEY REFERENCES releases(id) ON DELETE CASCADE,
  action TEXT NOT NULL CHECK (action IN ('set', 'unset', 'apply', 'rollback')),
  before_env TEXT NOT NULL DEFAULT '{}',
  after_env TEXT NOT NULL DEFAULT '{}',
  changes TEXT NOT NULL DEFAULT '[]',
  rollback_of BIGINT REFERENCES releases(id) ON DELETE SET NULL
);
