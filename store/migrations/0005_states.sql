-- opsui schema, version 3: the results and host statuses of store/states.go.
-- A deploy's or rollback's run ends with its release's word (rolled_back,
-- aborted), an attempt refused before it changed anything is "refused", a
-- host switched back after a failure is "rolled_back", and a release whose
-- opsui process died is "interrupted" (not "running" forever). SQLite cannot alter
-- a CHECK constraint, and rebuilding runs would cascade-delete every host
-- row; widening a CHECK in the schema text is the documented safe edit
-- (existing rows satisfy the wider check); RESET reloads the schema. Other
-- connections open the database after this migration (it runs in Open), and
-- an older opsui that has it open never writes the new words.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql,
        '''partial'', ''cancelled'', ''interrupted'')',
        '''partial'', ''cancelled'', ''interrupted'', ''rolled_back'', ''aborted'', ''refused'')')
    WHERE type = 'table' AND name = 'runs';
UPDATE sqlite_schema SET sql = replace(sql,
        '''failed'', ''cancelled'', ''skipped'')',
        '''failed'', ''cancelled'', ''skipped'', ''rolled_back'')')
    WHERE type = 'table' AND name = 'run_hosts';
UPDATE sqlite_schema SET sql = replace(sql,
        '''bad'', ''rolled_back'')',
        '''bad'', ''rolled_back'', ''interrupted'')')
    WHERE type = 'table' AND name = 'releases';
PRAGMA writable_schema = RESET;
