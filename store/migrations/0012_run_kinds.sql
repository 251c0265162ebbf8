-- opsui schema, version 12: three more run kinds, 'restart' (opsui restart:
-- app servers started again batch by batch through the balancer),
-- 'maintenance' (opsui maintenance on|off: the balancer answers 503) and
-- 'setup' (opsui setup: bare hosts made ready for a first deploy). The
-- CHECK on runs.kind is widened as 0005 and 0010 widened theirs (existing
-- rows satisfy the wider check).
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql,
        'kind IN (''deploy'', ''rollback'', ''migrate'', ''flush'', ''exec'', ''config'')',
        'kind IN (''deploy'', ''rollback'', ''migrate'', ''flush'', ''exec'', ''config'', ''restart'', ''maintenance'', ''setup'')')
    WHERE type = 'table' AND name = 'runs';
PRAGMA writable_schema = RESET;
