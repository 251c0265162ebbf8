-- opsui schema, version 11: the fleet file's runbooks, one row each in the
-- fleet's order (position), the runbook as JSON (as apps keep their
-- config). Builds of the day before kept the whole list in a role_defaults
-- row named '#runbooks': it moves here.
CREATE TABLE runbooks (
  name TEXT PRIMARY KEY,
  position INTEGER NOT NULL,
  runbook TEXT NOT NULL
);
INSERT INTO runbooks (name, position, runbook)
  SELECT r.elem->>'name', (r.ord - 1)::INTEGER, r.elem::TEXT
  FROM role_defaults, json_array_elements(role_defaults.settings::json) WITH ORDINALITY AS r(elem, ord)
  WHERE role_defaults.role = '#runbooks';
DELETE FROM role_defaults WHERE role = '#runbooks';
