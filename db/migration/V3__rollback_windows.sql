-- etl-rollback: the part of its migration a rollback undid.
--
-- A rollback undoes its migration's changes in a window of seq. When the rollback is itself undone, the
-- changes in that window are back in force; when that undo is undone, they are undone again. Recording the
-- window on the rollback lets the migration's status and window follow along any chain of rollbacks, where
-- before they could only be guessed.

ALTER TABLE etl_rollback.migration ADD COLUMN undid_after_seq bigint;
ALTER TABLE etl_rollback.migration ADD COLUMN undid_upto_seq bigint;
ALTER TABLE etl_rollback.migration ADD COLUMN undid_all boolean;

/* [jooq ignore start] */
COMMENT ON COLUMN etl_rollback.migration.undid_after_seq IS 'For a migration rollback:X: it undid changes of X with a larger seq ...; null for rollbacks logged before schema version 3.';
COMMENT ON COLUMN etl_rollback.migration.undid_upto_seq IS '... and a seq up to this one; null for no bound.';
COMMENT ON COLUMN etl_rollback.migration.undid_all IS 'For a migration rollback:X: whether it undid every change of X in its window, false where it skipped conflicting rows.';
/* [jooq ignore stop] */
