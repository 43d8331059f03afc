-- etl-rollback: a migration's statements by table.
--
-- A rollback looks up, for each table a migration changed, the first and the last of the
-- migration's statements on it. Indexed by migration alone, each lookup read every statement of
-- the migration: for a row-at-a-time job, one per row it changed. Indexed by migration, table and
-- number, each lookup is one probe, and which tables a migration changed is one probe per table.

DROP INDEX etl_rollback.statement_mig;
CREATE INDEX statement_mig_table ON etl_rollback.statement (mig, table_id, stmt);
