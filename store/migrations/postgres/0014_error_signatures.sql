-- opsui schema, version 14: errors tied to releases, and the regression
-- watch's verdict. error_signatures holds each error signature of an app's
-- environment once (signature: a hash of the aggregation key), with the
-- release current on the host where opsui first saw it: release_from says
-- how that release was known ('host': its current link when the line was
-- written; 'record': the host could not be read, the newest successful
-- release recorded for it; 'backlog': the line was already in the file when
-- read, so written under that release or before; '': unknown). The earliest
-- first_seen_at wins; seen counts the occurrences reported. IF NOT EXISTS:
-- a store rewound to an older version (as the tests of later steps do)
-- replays this step over its own tables.
CREATE TABLE IF NOT EXISTS error_signatures (
  app TEXT NOT NULL,
  env TEXT NOT NULL,
  signature TEXT NOT NULL,
  summary TEXT NOT NULL,
  frame TEXT NOT NULL DEFAULT '',
  sample TEXT NOT NULL DEFAULT '',
  first_seen_at BIGINT NOT NULL,
  first_host TEXT NOT NULL,
  first_release_id TEXT NOT NULL DEFAULT '',
  first_commit TEXT NOT NULL DEFAULT '',
  release_from TEXT NOT NULL DEFAULT '' CHECK (release_from IN ('', 'host', 'record', 'backlog')),
  seen BIGINT NOT NULL DEFAULT 0,
  last_seen_at BIGINT NOT NULL,
  PRIMARY KEY (app, env, signature)
);
CREATE INDEX IF NOT EXISTS error_signatures_release ON error_signatures(app, env, first_release_id);
-- release_watches is the regression watch's verdict on a deploy's release:
-- passed, tripped (detail: the signature or rate that tripped it), skipped
-- (detail: why no window was watched) or unread (no watched log could be
-- read).
CREATE TABLE IF NOT EXISTS release_watches (
  app TEXT NOT NULL,
  env TEXT NOT NULL,
  release_id TEXT NOT NULL,
  verdict TEXT NOT NULL CHECK (verdict IN ('passed', 'tripped', 'skipped', 'unread')),
  detail TEXT NOT NULL DEFAULT '',
  signature TEXT NOT NULL DEFAULT '',
  at BIGINT NOT NULL,
  PRIMARY KEY (app, env, release_id)
);
