-- etl-rollback: what a rollback found its migration in, and what it left it in.
--
-- Undoing a rollback puts its migration back as the rollback found it; undoing that undo puts the rollback back
-- in force, and its migration back as the rollback left it. Without these columns the status after such chains,
-- and the part of a migration still undone after one of its rollbacks is undone, could not be told.

ALTER TABLE etl_rollback.migration ADD COLUMN found_status text;
ALTER TABLE etl_rollback.migration ADD COLUMN found_undone_after_seq bigint;
ALTER TABLE etl_rollback.migration ADD COLUMN left_status text;
ALTER TABLE etl_rollback.migration ADD COLUMN left_undone_after_seq bigint;

/* [jooq ignore start] */
COMMENT ON COLUMN etl_rollback.migration.found_status IS 'For a migration rollback:X: the status of X before it; null for rollbacks logged before schema version 3.';
COMMENT ON COLUMN etl_rollback.migration.found_undone_after_seq IS 'For a migration rollback:X: the undone_after_seq of X before it.';
COMMENT ON COLUMN etl_rollback.migration.left_status IS 'For a migration rollback:X: the status it gave X.';
COMMENT ON COLUMN etl_rollback.migration.left_undone_after_seq IS 'For a migration rollback:X: the undone_after_seq it gave X.';
/* [jooq ignore stop] */
