-- etl-rollback: the change log and its catalog.
--
-- Storage: one generic catalog (tracked tables, their columns, migrations, statements,
-- checkpoints) and, per tracked table, a typed log table etl_rollback.log_<table_id> created by
-- track(). A log row holds seq, stmt and the before-image (o1..oN) and after-image (n1..nN) in
-- the table's own column types: no jsonb on the write path, values kept bit for bit.

/* [jooq ignore start] */
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'etl_rollback_admin') THEN
        CREATE ROLE etl_rollback_admin NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'etl_rollback_viewer') THEN
        CREATE ROLE etl_rollback_viewer NOLOGIN;
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE EXCEPTION 'install: the roles etl_rollback_admin and etl_rollback_viewer do not exist and % may not create them', current_user
        USING HINT = 'Create them once as a superuser: CREATE ROLE etl_rollback_admin NOLOGIN; CREATE ROLE etl_rollback_viewer NOLOGIN; then install again.';
END
$$;
/* [jooq ignore stop] */

CREATE SEQUENCE etl_rollback.change_seq INCREMENT BY 1048576;

CREATE TABLE etl_rollback.tracked_table (
    table_id      integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    table_name    text NOT NULL,
    relid         bigint NOT NULL,
    partitioned   boolean NOT NULL DEFAULT false,
    key_columns   text[] NOT NULL,
    tracked_since timestamptz NOT NULL DEFAULT now(),
    untracked_at  timestamptz
);
CREATE UNIQUE INDEX tracked_table_relid ON etl_rollback.tracked_table (relid);

CREATE TABLE etl_rollback.tracked_column (
    table_id     integer NOT NULL REFERENCES etl_rollback.tracked_table (table_id),
    position     integer NOT NULL,
    column_name  text NOT NULL,
    attnum       integer NOT NULL,
    type_name    text NOT NULL,
    key_position integer,
    generated    boolean NOT NULL DEFAULT false,
    identity_always boolean NOT NULL DEFAULT false,
    dropped      boolean NOT NULL DEFAULT false,
    logged_since bigint NOT NULL,
    PRIMARY KEY (table_id, position)
);

CREATE TABLE etl_rollback.migration (
    mig            integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    migration_id   varchar(200) NOT NULL,
    name           text,
    status         text NOT NULL DEFAULT 'active',
    started_at     timestamptz NOT NULL DEFAULT now(),
    started_by     text NOT NULL /* [jooq ignore start] */ DEFAULT session_user /* [jooq ignore stop] */,
    rollback_of    integer REFERENCES etl_rollback.migration (mig),
    undone_after_seq bigint,
    rolled_back_at timestamptz,
    CONSTRAINT migration_status CHECK (status IN ('active', 'rolled_back', 'partially_rolled_back'))
);
CREATE UNIQUE INDEX migration_migration_id ON etl_rollback.migration (migration_id);

CREATE TABLE etl_rollback.statement (
    stmt       bigint PRIMARY KEY,
    mig        integer NOT NULL,
    table_id   integer NOT NULL,
    op         char(1) NOT NULL,
    row_count  bigint NOT NULL,
    txid       bigint NOT NULL,
    changed_at timestamptz NOT NULL,
    CONSTRAINT statement_op CHECK (op IN ('I', 'U', 'D', 'T'))
);
CREATE INDEX statement_mig ON etl_rollback.statement (mig, stmt);

CREATE TABLE etl_rollback.checkpoint (
    mig        integer NOT NULL REFERENCES etl_rollback.migration (mig),
    name       varchar(200) NOT NULL,
    seq        bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (mig, name)
);

/* [jooq ignore start] */
COMMENT ON SEQUENCE etl_rollback.change_seq IS 'Orders statements and checkpoints; uncached so that order follows time across sessions. Each value starts a block of 1048576 row numbers (seq) for one statement.';

COMMENT ON TABLE etl_rollback.tracked_table IS 'Tables whose changes are logged; one typed log table etl_rollback.log_<table_id> each.';
COMMENT ON COLUMN etl_rollback.tracked_table.table_id IS 'Surrogate id; names the log table log_<table_id> and the capture functions.';
COMMENT ON COLUMN etl_rollback.tracked_table.table_name IS 'Schema-qualified name, quoted where needed, as it was when last tracked.';
COMMENT ON COLUMN etl_rollback.tracked_table.relid IS 'OID of the table; follows renames.';
COMMENT ON COLUMN etl_rollback.tracked_table.partitioned IS 'True for a partitioned table: every partition carries capture triggers writing into this log.';
COMMENT ON COLUMN etl_rollback.tracked_table.key_columns IS 'The columns that identify a row: the primary key, else a unique key of non-null columns.';
COMMENT ON COLUMN etl_rollback.tracked_table.tracked_since IS 'When tracking started (or restarted after untrack).';
COMMENT ON COLUMN etl_rollback.tracked_table.untracked_at IS 'When tracking stopped; null while tracked. The log is kept.';

COMMENT ON TABLE etl_rollback.tracked_column IS 'The columns of a tracked table as the log stores them: column N is o<N> (before) and n<N> (after).';
COMMENT ON COLUMN etl_rollback.tracked_column.position IS 'N in the log columns o<N>/n<N>; never reused.';
COMMENT ON COLUMN etl_rollback.tracked_column.column_name IS 'Current name of the column in the tracked table.';
COMMENT ON COLUMN etl_rollback.tracked_column.attnum IS 'Attribute number in the tracked table; identifies the column across renames.';
COMMENT ON COLUMN etl_rollback.tracked_column.type_name IS 'Type of the log columns (a domain is stored as its base type).';
COMMENT ON COLUMN etl_rollback.tracked_column.key_position IS 'Position in the row key, or null.';
COMMENT ON COLUMN etl_rollback.tracked_column.generated IS 'A stored generated column: logged, never written back.';
COMMENT ON COLUMN etl_rollback.tracked_column.identity_always IS 'GENERATED ALWAYS AS IDENTITY: restored with OVERRIDING SYSTEM VALUE.';
COMMENT ON COLUMN etl_rollback.tracked_column.logged_since IS 'change_seq value when logging of the column began: statements numbered below it did not log it.';
COMMENT ON COLUMN etl_rollback.tracked_column.dropped IS 'The column no longer exists in the table; older log rows keep its values.';

COMMENT ON TABLE etl_rollback.migration IS 'One row per migration id that changed a tracked table or set a checkpoint.';
COMMENT ON COLUMN etl_rollback.migration.mig IS 'Surrogate id used by the log.';
COMMENT ON COLUMN etl_rollback.migration.migration_id IS 'The value of etl_rollback.migration_id the changes were made under.';
COMMENT ON COLUMN etl_rollback.migration.name IS 'Optional descriptive name, from etl_rollback.migration_name when the migration started.';
COMMENT ON COLUMN etl_rollback.migration.status IS 'active, rolled_back or partially_rolled_back.';
COMMENT ON COLUMN etl_rollback.migration.started_at IS 'Time of the first logged change or checkpoint.';
COMMENT ON COLUMN etl_rollback.migration.started_by IS 'Session user that first wrote under this id.';
COMMENT ON COLUMN etl_rollback.migration.rollback_of IS 'For a migration rollback:X, the migration X it undid.';
COMMENT ON COLUMN etl_rollback.migration.undone_after_seq IS 'Changes with seq above this value have been rolled back; null when none have.';
COMMENT ON COLUMN etl_rollback.migration.rolled_back_at IS 'Time of the last rollback of this migration.';

COMMENT ON TABLE etl_rollback.statement IS 'One row per logged statement on one table: who, what, when, how many rows.';
COMMENT ON COLUMN etl_rollback.statement.stmt IS 'From change_seq, taken before the statement''s row changes: orders statements.';
COMMENT ON COLUMN etl_rollback.statement.mig IS 'The migration the statement ran under.';
COMMENT ON COLUMN etl_rollback.statement.table_id IS 'The tracked table (for a partition: its partitioned table).';
COMMENT ON COLUMN etl_rollback.statement.op IS 'I insert, U update, D delete, T truncate.';
COMMENT ON COLUMN etl_rollback.statement.row_count IS 'Rows logged for the statement.';
COMMENT ON COLUMN etl_rollback.statement.txid IS 'txid_current() of the writing transaction.';
COMMENT ON COLUMN etl_rollback.statement.changed_at IS 'clock_timestamp() when the rows were logged.';

COMMENT ON TABLE etl_rollback.checkpoint IS 'Named points inside a migration; rollback --to-checkpoint undoes what came after.';
COMMENT ON COLUMN etl_rollback.checkpoint.seq IS 'change_seq value when the checkpoint was set: later changes have a larger seq.';

REVOKE ALL ON SCHEMA etl_rollback FROM PUBLIC;
GRANT USAGE ON SCHEMA etl_rollback TO etl_rollback_admin, etl_rollback_viewer;
GRANT SELECT, INSERT, UPDATE, DELETE ON etl_rollback.tracked_table, etl_rollback.tracked_column,
    etl_rollback.migration, etl_rollback.statement, etl_rollback.checkpoint TO etl_rollback_admin;
GRANT USAGE, SELECT ON SEQUENCE etl_rollback.change_seq TO etl_rollback_admin;
/* [jooq ignore stop] */

/* [jooq ignore start] */
-- Functions created later by the installing role are not executable by everyone unless granted.
ALTER DEFAULT PRIVILEGES IN SCHEMA etl_rollback REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
/* [jooq ignore stop] */
