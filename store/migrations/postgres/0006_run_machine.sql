-- opsui schema, version 6 (as migrations/0006_run_machine.sql): the machine a run's opsui process ran on. With a
-- shared PostgreSQL store, a run's pid means something only on its own
-- machine: opsui marks a run interrupted when its process is gone only if
-- it was started on this machine ('' is a run recorded before: local).
ALTER TABLE runs ADD COLUMN machine TEXT NOT NULL DEFAULT '';
