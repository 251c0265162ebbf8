-- opsui schema, version 12: run kinds 'restart', 'maintenance' and 'setup' (see the
-- SQLite migration of the same number).
ALTER TABLE runs DROP CONSTRAINT runs_kind_check;
ALTER TABLE runs ADD CONSTRAINT runs_kind_check CHECK (kind IN ('deploy', 'rollback', 'migrate', 'flush', 'exec', 'config', 'restart', 'maintenance', 'setup'));
