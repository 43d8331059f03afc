-- etl-rollback: capture.
--
-- track() generates, per tracked table and per partition of it, static capture functions and
-- attaches them as statement-level triggers: AFTER INSERT / UPDATE / DELETE with transition tables,
-- and BEFORE TRUNCATE, which saves the rows about to go. A capture function does nothing unless
-- the session sets etl_rollback.migration_id; then it copies the transition rows, typed, into the
-- table's log with one INSERT ... SELECT and records the statement.

/* [jooq ignore start] */

-- _check_migration_id: raise a clear error for an id the log cannot take.
CREATE OR REPLACE FUNCTION etl_rollback._check_migration_id(p_id text)
RETURNS void LANGUAGE plpgsql IMMUTABLE AS
$$
BEGIN
    IF p_id IS NULL OR p_id = '' THEN
        RAISE EXCEPTION 'etl_rollback: the migration id is empty' USING ERRCODE = '22023';
    END IF;
    IF length(p_id) > 200 THEN
        RAISE EXCEPTION 'etl_rollback: the migration id "%..." is % characters long; at most 200 are allowed',
            left(p_id, 40), length(p_id) USING ERRCODE = '22023';
    END IF;
    IF p_id ~ '[[:cntrl:]]' THEN
        RAISE EXCEPTION 'etl_rollback: the migration id % contains control characters', quote_literal(
            regexp_replace(p_id, '[[:cntrl:]]', '?', 'g')) USING ERRCODE = '22023';
    END IF;
END
$$;

-- _session_migration: the surrogate of the session's migration id, registered on first use;
-- null when the session is not tagged. It takes a shared transaction-level advisory lock on the id
-- (first key 0x45524c57, 'ERLW'; second key hashtext(id)), held until the writing transaction ends:
-- its rows and its registration of the id are invisible to other sessions until then, and the lock
-- is how a rollback of the id sees that it is still being written (and makes later writers wait).
CREATE OR REPLACE FUNCTION etl_rollback._session_migration()
RETURNS integer LANGUAGE plpgsql AS
$$
DECLARE
    v_id     text := current_setting('etl_rollback.migration_id', true);
    v_mig    integer;
    v_status text;
    v_rollback_elsewhere boolean;
BEGIN
    IF v_id IS NULL OR v_id = '' THEN
        RETURN NULL;
    END IF;
    PERFORM pg_catalog.pg_advisory_xact_lock_shared(1163021399, pg_catalog.hashtext(v_id));
    -- a rollback's id is registered by the rollback's own transaction, which alone writes under it
    SELECT mig, status, rollback_of IS NOT NULL AND started_at <> now()
      INTO v_mig, v_status, v_rollback_elsewhere
      FROM etl_rollback.migration WHERE migration_id = v_id;
    IF v_mig IS NULL THEN
        PERFORM etl_rollback._check_migration_id(v_id);
        INSERT INTO etl_rollback.migration (migration_id, name)
            VALUES (v_id, nullif(current_setting('etl_rollback.migration_name', true), ''))
            ON CONFLICT (migration_id) DO NOTHING
            RETURNING mig INTO v_mig;
        IF v_mig IS NULL THEN
            SELECT mig INTO v_mig FROM etl_rollback.migration WHERE migration_id = v_id;
        END IF;
    ELSIF v_status <> 'active' THEN
        RAISE EXCEPTION 'etl_rollback: migration % has been rolled back; tag new changes with a new migration id',
            quote_literal(v_id) USING ERRCODE = '55000';
    ELSIF v_rollback_elsewhere THEN
        RAISE EXCEPTION 'etl_rollback: % is the id of a rollback, which only that rollback writes under; tag new'
            ' changes with a migration id of their own', quote_literal(v_id) USING ERRCODE = '55000';
    END IF;
    RETURN v_mig;
END
$$;

-- _log_statement: record one logged statement when the capture function's direct insert found no
-- active migration for the session's id: registers a new migration, or raises for an inactive one.
CREATE OR REPLACE FUNCTION etl_rollback._log_statement(p_stmt bigint, p_table_id integer, p_op text, p_rows bigint)
RETURNS void LANGUAGE plpgsql AS
$$
BEGIN
    INSERT INTO etl_rollback.statement (stmt, mig, table_id, op, row_count, txid, changed_at)
        VALUES (p_stmt, etl_rollback._session_migration(), p_table_id, p_op, p_rows, txid_current(), clock_timestamp());
END
$$;

-- _renumber: give the rows of a statement beyond its first block of 1048576 numbers their own blocks
-- (the capture numbers rows from the first block only: a statement that large is rare).
CREATE OR REPLACE FUNCTION etl_rollback._renumber(p_table_id integer, p_stmt bigint, p_rows bigint)
RETURNS void LANGUAGE plpgsql AS
$$
DECLARE
    v_blocks bigint[];
BEGIN
    v_blocks := ARRAY(SELECT nextval('etl_rollback.change_seq') FROM generate_series(1, (p_rows - 1) / 1048576));
    EXECUTE format('UPDATE etl_rollback.%I SET seq = $2[(seq - $1) / 1048576] + (seq - $1) %% 1048576'
                   ' WHERE stmt = $1 AND seq >= $1 + 1048576', 'log_' || p_table_id)
        USING p_stmt, v_blocks;
END
$$;

-- _log_type: the type a log column stores for a table column (a domain is stored as its base type,
-- so that later changes to the domain's constraints never touch the log).
CREATE OR REPLACE FUNCTION etl_rollback._log_type(p_type oid, p_typmod integer)
RETURNS text LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    v_type   oid := p_type;
    v_typmod integer := p_typmod;
    v_kind   "char";
    v_base   oid;
    v_basemod integer;
BEGIN
    LOOP
        SELECT typtype, typbasetype, typtypmod INTO v_kind, v_base, v_basemod FROM pg_catalog.pg_type WHERE oid = v_type;
        EXIT WHEN v_kind <> 'd';
        v_type := v_base;
        v_typmod := v_basemod;
    END LOOP;
    RETURN pg_catalog.format_type(v_type, v_typmod);
END
$$;

-- _table_key: the columns that identify a row of the table: the primary key, else the unique key
-- of non-null plain columns with the fewest columns (then by name); null when there is none.
CREATE OR REPLACE FUNCTION etl_rollback._table_key(p_rel regclass)
RETURNS text[] LANGUAGE sql STABLE AS
$$
    SELECT ARRAY(SELECT a.attname::text
                   FROM unnest(i.indkey[0:i.indnkeyatts - 1]) WITH ORDINALITY AS k(attnum, ord)
                   JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                  ORDER BY k.ord)
      FROM pg_catalog.pg_index i
      JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
     WHERE i.indrelid = p_rel
       AND i.indisunique AND i.indisvalid
       AND i.indpred IS NULL AND i.indexprs IS NULL
       AND (i.indisprimary OR NOT EXISTS (
               SELECT FROM unnest(i.indkey[0:i.indnkeyatts - 1]) AS k(attnum)
                 JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                WHERE NOT a.attnotnull))
     ORDER BY i.indisprimary DESC, i.indnkeyatts, c.relname
     LIMIT 1
$$;

-- _capture_function_source: the CREATE FUNCTION statement of the capture function of one relation
-- (the tracked table or one of its partitions) for one event.
CREATE OR REPLACE FUNCTION etl_rollback._capture_function_source(p_table_id integer, p_rel regclass, p_event text)
RETURNS text LANGUAGE plpgsql STABLE AS
$$
DECLARE
    v_name    text := format('_capture_%s_%s_%s', p_table_id, p_rel::oid, lower(p_event));
    v_log     text := format('etl_rollback.%I', 'log_' || p_table_id);
    v_old     text;
    v_new     text;
    v_src_old text;
    v_src_new text;
    v_insert  text;
    v_seq     text := 'v_stmt + n."etl_rollback.ordinal" - 1';
BEGIN
    SELECT string_agg(format('o%s', position), ', ' ORDER BY position),
           string_agg(format('n%s', position), ', ' ORDER BY position),
           string_agg(format('o.%I', column_name), ', ' ORDER BY position),
           string_agg(format('n.%I', column_name), ', ' ORDER BY position)
      INTO v_old, v_new, v_src_old, v_src_new
      FROM etl_rollback.tracked_column
     WHERE table_id = p_table_id AND NOT dropped;

    -- Every row gets a number: seq is its statement's block of change_seq plus the row's ordinal.
    -- Old and new transition rows of an update are stored pairwise in the same order: pairing them by
    -- ordinal stays right when the statement changes the key itself.
    v_insert := CASE p_event
        WHEN 'I' THEN format('INSERT INTO %s (seq, stmt, %s) SELECT %s, v_stmt, %s'
                             ' FROM (SELECT row_number() OVER () AS "etl_rollback.ordinal", * FROM new_rows) n',
                             v_log, v_new, v_seq, v_src_new)
        WHEN 'D' THEN format('INSERT INTO %s (seq, stmt, %s) SELECT %s, v_stmt, %s'
                             ' FROM (SELECT row_number() OVER () AS "etl_rollback.ordinal", * FROM old_rows) o',
                             v_log, v_old, replace(v_seq, 'n.', 'o.'), v_src_old)
        WHEN 'T' THEN format('INSERT INTO %s (seq, stmt, %s) SELECT %s, v_stmt, %s'
                             ' FROM (SELECT row_number() OVER () AS "etl_rollback.ordinal", * FROM ONLY %s) o',
                             v_log, v_old, replace(v_seq, 'n.', 'o.'), v_src_old, p_rel)
        WHEN 'U' THEN format('INSERT INTO %s (seq, stmt, %s, %s) SELECT %s, v_stmt, %s, %s'
                             ' FROM (SELECT row_number() OVER () AS "etl_rollback.ordinal", * FROM old_rows) o'
                             ' JOIN (SELECT row_number() OVER () AS "etl_rollback.ordinal", * FROM new_rows) n'
                             ' ON o."etl_rollback.ordinal" = n."etl_rollback.ordinal"',
                             v_log, v_old, v_new, v_seq, v_src_old, v_src_new)
    END;

    -- Table columns are always qualified (n., o.), so the unqualified names are the variables even when
    -- the table has a column of that name (#variable_conflict below).
    -- jit off: compiling the copy costs more than it saves on every statement; work_mem: pairing the old and
    -- new rows of a large update sorts in memory rather than on disk. enable_nestloop off (updates): a session
    -- keeps the plan of the copy once it has run a few times, and a plan made for one-row statements pairs the
    -- rows by nested loop, which takes quadratic time on a large update later in that session; a hash or merge
    -- join pairs any number of rows in about linear time. row_security off (truncates): the copy reads the
    -- table with the owner's rights, and rows that row-level security hides from the owner would go unlogged;
    -- with it off, such a TRUNCATE fails instead.
    RETURN format($f$CREATE OR REPLACE FUNCTION etl_rollback.%I() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off SET work_mem = '64MB'%s AS
$body$
#variable_conflict use_variable
DECLARE
    v_stmt bigint;
    v_rows bigint;
BEGIN
    IF coalesce(current_setting('etl_rollback.migration_id', true), '') = '' THEN
        RETURN NULL;
    END IF;
    -- held until the transaction ends, as by _session_migration: a rollback of the migration sees that
    -- it is still being written
    PERFORM pg_catalog.pg_advisory_xact_lock_shared(1163021399,
        pg_catalog.hashtext(current_setting('etl_rollback.migration_id')));
    -- change_seq steps by 1048576: one call numbers the statement and up to that many rows
    v_stmt := nextval('etl_rollback.change_seq');
    %s;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    IF v_rows = 0 THEN
        RETURN NULL;
    END IF;
    IF v_rows > 1048576 THEN
        PERFORM etl_rollback._renumber(%s, v_stmt, v_rows);
    END IF;
    INSERT INTO etl_rollback.statement (stmt, mig, table_id, op, row_count, txid, changed_at)
        SELECT v_stmt, m.mig, %s, %L, v_rows, txid_current(), clock_timestamp()
          FROM etl_rollback.migration m
         WHERE m.migration_id = current_setting('etl_rollback.migration_id') AND m.status = 'active'
           AND (m.rollback_of IS NULL OR m.started_at = now());
    IF NOT FOUND THEN
        PERFORM etl_rollback._log_statement(v_stmt, %s, %L, v_rows);
    END IF;
    RETURN NULL;
END
$body$
$f$, v_name, CASE p_event WHEN 'U' THEN ' SET enable_nestloop = off' WHEN 'T' THEN ' SET row_security = off' ELSE '' END,
        v_insert, p_table_id, p_table_id, p_event, p_table_id, p_event);
END
$$;

-- _capture_relations: the relations that carry capture triggers for a tracked table: the table
-- itself and, for a partitioned table, every partition at every level.
CREATE OR REPLACE FUNCTION etl_rollback._capture_relations(p_rel regclass)
RETURNS TABLE (rel regclass, has_storage boolean) LANGUAGE sql STABLE AS
$$
    -- pg_partition_tree lists nothing for a table that is not partitioned
    SELECT c.oid::regclass, c.relkind = 'r'
      FROM (SELECT p_rel::oid AS relid, 0 AS level
            UNION
            SELECT t.relid::oid, t.level FROM pg_catalog.pg_partition_tree(p_rel) t) t
      JOIN pg_catalog.pg_class c ON c.oid = t.relid
     WHERE c.relkind IN ('r', 'p')
     ORDER BY t.level, c.oid
$$;

-- _prepare_capture: create or bring up to date the catalog entry, log table and capture functions of
-- a table; returns the triggers to attach. Runs as the engine's owner; track() calls it.
CREATE OR REPLACE FUNCTION etl_rollback._prepare_capture(p_rel regclass)
RETURNS TABLE (rel regclass, event text, function_name text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    v_key      text[];
    v_table_id integer;
    v_kind     "char";
    v_col      record;
    v_pos      integer;
    v_since    bigint;
    v_new_cols boolean := false;
    v_fn       record;
    v_columns  integer;
    v_log_columns integer;
BEGIN
    SELECT relkind INTO v_kind FROM pg_catalog.pg_class WHERE oid = p_rel;
    v_key := etl_rollback._table_key(p_rel);
    IF v_key IS NULL THEN
        RAISE EXCEPTION 'track: table % has neither a primary key nor a unique key on non-null columns', p_rel
            USING ERRCODE = '42P10',
                  HINT = 'etl-rollback identifies rows by their key: add a primary key to the table, then track it.';
    END IF;
    -- A log row holds two columns per column (before- and after-image), and so does the plan of a rollback, with
    -- seven more: PostgreSQL allows 1600 columns in a table, so (1600 - 7) / 2 columns at most.
    SELECT count(*) INTO v_columns FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = p_rel AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated <> 'v';
    IF v_columns > 796 THEN
        RAISE EXCEPTION 'track: table % has % columns; etl-rollback can track tables of at most 796 columns', p_rel, v_columns
            USING ERRCODE = '54011',
                  DETAIL = 'Its log, and the plan of a rollback, hold two columns (a before- and an after-image) per column of the table, and PostgreSQL allows at most 1600 columns in a table.',
                  HINT = 'Leave the table untracked, or split it.';
    END IF;

    SELECT table_id INTO v_table_id FROM etl_rollback.tracked_table WHERE relid = p_rel::oid;
    IF v_table_id IS NULL THEN
        INSERT INTO etl_rollback.tracked_table (table_name, relid, partitioned, key_columns)
            VALUES (p_rel::text, p_rel::oid, v_kind = 'p', v_key)
            RETURNING table_id INTO v_table_id;
        EXECUTE format('CREATE TABLE etl_rollback.%I (seq bigint NOT NULL, stmt bigint NOT NULL)', 'log_' || v_table_id);
        EXECUTE format('CREATE INDEX %I ON etl_rollback.%I (stmt)', 'log_' || v_table_id || '_stmt', 'log_' || v_table_id);
        EXECUTE format('COMMENT ON TABLE etl_rollback.%I IS %L', 'log_' || v_table_id,
                       format('Row changes of %s: o<N> before-image, n<N> after-image of column N of etl_rollback.tracked_column.', p_rel));
        EXECUTE format('GRANT SELECT, DELETE ON etl_rollback.%I TO etl_rollback_admin', 'log_' || v_table_id);
    ELSE
        UPDATE etl_rollback.tracked_table
           SET table_name = p_rel::text, key_columns = v_key, untracked_at = NULL,
               tracked_since = CASE WHEN untracked_at IS NULL THEN tracked_since ELSE now() END
         WHERE table_id = v_table_id;
    END IF;

    -- Bring the column list up to date: a column keeps its position for life (found by attnum);
    -- a new column, or one whose type changed, gets a new position; a vanished one is marked dropped.
    UPDATE etl_rollback.tracked_column tc SET dropped = true
     WHERE tc.table_id = v_table_id AND NOT tc.dropped
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
                        WHERE a.attrelid = p_rel AND a.attnum = tc.attnum AND NOT a.attisdropped
                          AND a.attgenerated <> 'v'
                          AND etl_rollback._log_type(a.atttypid, a.atttypmod) = tc.type_name);
    FOR v_col IN
        SELECT a.attnum, a.attname::text AS name, etl_rollback._log_type(a.atttypid, a.atttypmod) AS type_name,
               array_position(v_key, a.attname::text) AS key_position,
               a.attgenerated = 's' AS generated, a.attidentity = 'a' AS identity_always
          FROM pg_catalog.pg_attribute a
         WHERE a.attrelid = p_rel AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated <> 'v'
         ORDER BY a.attnum
    LOOP
        UPDATE etl_rollback.tracked_column
           SET column_name = v_col.name, key_position = v_col.key_position,
               generated = v_col.generated, identity_always = v_col.identity_always
         WHERE table_id = v_table_id AND attnum = v_col.attnum AND NOT dropped;
        IF NOT FOUND THEN
            -- columns that went keep theirs in the log, so a table altered often can outgrow its log
            SELECT max(a.attnum) INTO v_log_columns FROM pg_catalog.pg_attribute a
             WHERE a.attrelid = format('etl_rollback.%I', 'log_' || v_table_id)::regclass;
            IF v_log_columns + 2 > 1600 THEN
                RAISE EXCEPTION 'track: the log of table % would need more than 1600 columns, which PostgreSQL does not allow', p_rel
                    USING ERRCODE = '54011',
                          DETAIL = format('The log holds two columns per column the table has had since it was first tracked (%s so far, dropped ones included).', (v_log_columns - 2) / 2),
                          HINT = 'Untrack the table: its log stays for the migrations that changed it; a table created anew (CREATE TABLE ... (LIKE ...)) gets a log of its own.';
            END IF;
            SELECT coalesce(max(position), 0) + 1 INTO v_pos FROM etl_rollback.tracked_column WHERE table_id = v_table_id;
            -- statements numbered below this did not log the column, even if it existed then
            v_since := coalesce(v_since, nextval('etl_rollback.change_seq'));
            INSERT INTO etl_rollback.tracked_column (table_id, position, column_name, attnum, type_name,
                                                     key_position, generated, identity_always, logged_since)
                VALUES (v_table_id, v_pos, v_col.name, v_col.attnum, v_col.type_name,
                        v_col.key_position, v_col.generated, v_col.identity_always, v_since);
            EXECUTE format('ALTER TABLE etl_rollback.%I ADD COLUMN %I %s, ADD COLUMN %I %s',
                           'log_' || v_table_id, 'o' || v_pos, v_col.type_name, 'n' || v_pos, v_col.type_name);
            v_new_cols := true;
        END IF;
    END LOOP;

    -- Regenerate the capture functions: drop those of relations no longer in the tree, then (re)create.
    FOR v_fn IN
        SELECT p.oid::regprocedure AS fn
          FROM pg_catalog.pg_proc p
         WHERE p.pronamespace = 'etl_rollback'::regnamespace
           AND p.proname LIKE format('\_capture\_%s\_%%', v_table_id)
           AND NOT EXISTS (SELECT FROM etl_rollback._capture_relations(p_rel) r
                            WHERE p.proname LIKE format('\_capture\_%s\_%s\_%%', v_table_id, r.rel::oid))
    LOOP
        EXECUTE format('DROP FUNCTION %s CASCADE', v_fn.fn);
    END LOOP;

    FOR v_fn IN
        SELECT r.rel, e.event
          FROM etl_rollback._capture_relations(p_rel) r
         CROSS JOIN unnest(ARRAY['I', 'U', 'D', 'T']) AS e(event)
         WHERE e.event <> 'T' OR r.has_storage
    LOOP
        EXECUTE etl_rollback._capture_function_source(v_table_id, v_fn.rel, v_fn.event);
        EXECUTE format('REVOKE ALL ON FUNCTION etl_rollback.%I() FROM PUBLIC',
                       format('_capture_%s_%s_%s', v_table_id, v_fn.rel::oid, lower(v_fn.event)));
        EXECUTE format('GRANT EXECUTE ON FUNCTION etl_rollback.%I() TO etl_rollback_admin',
                       format('_capture_%s_%s_%s', v_table_id, v_fn.rel::oid, lower(v_fn.event)));
        rel := v_fn.rel;
        event := v_fn.event;
        function_name := format('etl_rollback.%I', format('_capture_%s_%s_%s', v_table_id, v_fn.rel::oid, lower(v_fn.event)));
        RETURN NEXT;
    END LOOP;

    -- The BEFORE TRUNCATE capture reads the table's rows with the owner's rights.
    IF NOT has_table_privilege(p_rel, 'SELECT') THEN
        RAISE EXCEPTION 'track: % may not read %, which the capture of TRUNCATE needs', current_user, p_rel
            USING ERRCODE = '42501', HINT = format('GRANT SELECT ON %s TO %I', p_rel, current_user);
    END IF;

    PERFORM etl_rollback._refresh_changes_view();
END
$$;

-- _track: track() (below) once the table's name is resolved (p_rel null when p_table names no relation).
CREATE OR REPLACE FUNCTION etl_rollback._track(p_rel regclass, p_table text)
RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    v_rel     regclass := p_rel;
    v_kind    "char";
    v_part    boolean;
    v_persist "char";
    v_trigger record;
BEGIN
    IF v_rel IS NULL THEN
        RAISE EXCEPTION 'track: table % does not exist', coalesce(quote_literal(p_table), 'NULL') USING ERRCODE = '42P01';
    END IF;
    SELECT c.relkind, c.relispartition, c.relpersistence INTO v_kind, v_part, v_persist
      FROM pg_catalog.pg_class c WHERE c.oid = v_rel;
    IF v_kind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION 'track: % is not a table', v_rel USING ERRCODE = '42809';
    END IF;
    IF v_part THEN
        RAISE EXCEPTION 'track: % is a partition of %; track the partitioned table instead', v_rel,
            (SELECT i.inhparent::regclass FROM pg_catalog.pg_inherits i WHERE i.inhrelid = v_rel) USING ERRCODE = '42809';
    END IF;
    IF v_persist = 't' THEN
        RAISE EXCEPTION 'track: % is a temporary table', v_rel USING ERRCODE = '42809';
    END IF;
    IF (SELECT relnamespace FROM pg_catalog.pg_class WHERE oid = v_rel) = 'etl_rollback'::regnamespace THEN
        RAISE EXCEPTION 'track: % belongs to etl-rollback itself', v_rel USING ERRCODE = '42809';
    END IF;
    IF v_kind = 'r' AND EXISTS (SELECT FROM pg_catalog.pg_inherits WHERE inhparent = v_rel OR inhrelid = v_rel) THEN
        RAISE EXCEPTION 'track: % takes part in table inheritance, which etl-rollback does not support', v_rel
            USING ERRCODE = '0A000';
    END IF;

    IF NOT has_function_privilege('etl_rollback._prepare_capture(regclass)', 'EXECUTE') THEN
        RAISE EXCEPTION 'track: % is neither the owner of etl-rollback nor a member of etl_rollback_admin', current_user
            USING ERRCODE = '42501';
    END IF;

    FOR v_trigger IN SELECT * FROM etl_rollback._prepare_capture(v_rel) LOOP
        -- a trigger already calling the (just regenerated) capture function is kept as it is: dropping
        -- it would need ownership of the table, where creating it needs only the TRIGGER privilege
        CONTINUE WHEN EXISTS (SELECT FROM pg_catalog.pg_trigger
                               WHERE tgrelid = v_trigger.rel AND tgname = 'etl_rollback_capture_' || lower(v_trigger.event)
                                 AND tgfoid = to_regprocedure(v_trigger.function_name || '()') AND tgenabled = 'O');
        IF EXISTS (SELECT FROM pg_catalog.pg_trigger
                    WHERE tgrelid = v_trigger.rel AND tgname = 'etl_rollback_capture_' || lower(v_trigger.event)) THEN
            EXECUTE format('DROP TRIGGER %I ON %s', 'etl_rollback_capture_' || lower(v_trigger.event), v_trigger.rel);
        END IF;
        EXECUTE format('CREATE TRIGGER %I %s ON %s %s FOR EACH STATEMENT EXECUTE FUNCTION %s()',
            'etl_rollback_capture_' || lower(v_trigger.event),
            CASE v_trigger.event WHEN 'I' THEN 'AFTER INSERT' WHEN 'U' THEN 'AFTER UPDATE'
                                 WHEN 'D' THEN 'AFTER DELETE' ELSE 'BEFORE TRUNCATE' END,
            v_trigger.rel,
            CASE v_trigger.event WHEN 'I' THEN 'REFERENCING NEW TABLE AS new_rows'
                                 WHEN 'U' THEN 'REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows'
                                 WHEN 'D' THEN 'REFERENCING OLD TABLE AS old_rows' ELSE '' END,
            v_trigger.function_name);
    END LOOP;
    RETURN (SELECT table_name FROM etl_rollback.tracked_table WHERE relid = v_rel::oid);
END
$$;

-- track: start logging a table's changes (and, for a partitioned table, its partitions'). Tracking
-- a tracked table again brings its capture up to date: new columns, new partitions.
-- Runs with the caller's rights, which must allow creating triggers on the table. It finds the table
-- as the caller would, on the caller's search_path, and leaves the rest to _track, whose search_path is
-- pinned: a function or operator planted in a schema on the caller's search_path (an overload of
-- format() that fits its arguments better than pg_catalog's, say) never runs with the caller's rights.
-- Every name in it is qualified, so that it needs no pinned search_path itself.
CREATE OR REPLACE FUNCTION etl_rollback.track(p_table text)
RETURNS text LANGUAGE sql AS
$$
    SELECT etl_rollback._track(pg_catalog.to_regclass(p_table), p_table)
$$;

-- untrack: stop logging a table. Its log stays, so migrations that changed it can still be rolled back.
CREATE OR REPLACE FUNCTION etl_rollback.untrack(p_table text)
RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    v_rel      regclass;
    v_table_id integer;
    v_name     text;
    v_fn       record;
BEGIN
    v_rel := to_regclass(p_table);
    SELECT table_id, table_name INTO v_table_id, v_name
      FROM etl_rollback.tracked_table
     WHERE untracked_at IS NULL AND (relid = v_rel::oid OR (v_rel IS NULL AND table_name = p_table));
    IF v_table_id IS NULL THEN
        RAISE EXCEPTION 'untrack: table % is not tracked', coalesce(quote_literal(p_table), 'NULL') USING ERRCODE = '42P01';
    END IF;
    FOR v_fn IN
        SELECT p.oid::regprocedure AS fn FROM pg_catalog.pg_proc p
         WHERE p.pronamespace = 'etl_rollback'::regnamespace AND p.proname LIKE format('\_capture\_%s\_%%', v_table_id)
    LOOP
        -- CASCADE removes the triggers that call it
        EXECUTE format('DROP FUNCTION %s CASCADE', v_fn.fn);
    END LOOP;
    UPDATE etl_rollback.tracked_table SET untracked_at = now() WHERE table_id = v_table_id;
    RETURN v_name;
END
$$;

-- checkpoint: mark the current point of the session's migration; rollback --to-checkpoint undoes
-- only what the migration changed after it.
CREATE OR REPLACE FUNCTION etl_rollback.checkpoint(p_name text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    v_mig integer := etl_rollback._session_migration();
    v_seq bigint;
BEGIN
    IF v_mig IS NULL THEN
        RAISE EXCEPTION 'checkpoint: this session has no migration id'
            USING ERRCODE = '55000', HINT = 'SET etl_rollback.migration_id = ''...'' before setting a checkpoint.';
    END IF;
    IF p_name IS NULL OR p_name = '' OR length(p_name) > 200 OR p_name ~ '[[:cntrl:]]' THEN
        RAISE EXCEPTION 'checkpoint: a checkpoint name must have 1 to 200 characters and no control characters'
            USING ERRCODE = '22023';
    END IF;
    v_seq := nextval('etl_rollback.change_seq');
    INSERT INTO etl_rollback.checkpoint (mig, name, seq) VALUES (v_mig, p_name, v_seq);
    RETURN v_seq;
EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'checkpoint: migration % already has a checkpoint named %',
        quote_literal(current_setting('etl_rollback.migration_id')), quote_literal(p_name) USING ERRCODE = '23505';
END
$$;

-- _refresh_changes_view: rebuild etl_rollback.changes over every log table: one branch per table,
-- turning the typed images back into jsonb objects keyed by column name.
CREATE OR REPLACE FUNCTION etl_rollback._refresh_changes_view()
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    v_branches text;
BEGIN
    -- Only log columns that exist: DROP TYPE ... CASCADE on a type of a tracked column drops the
    -- column from the table and from its log alike, before track() marks it dropped.
    WITH cols AS (
        SELECT tc.table_id, tc.position, tc.column_name, tc.key_position,
               (row_number() OVER (PARTITION BY tc.table_id ORDER BY tc.position) - 1) / 50 AS chunk
          FROM etl_rollback.tracked_column tc
         WHERE NOT tc.dropped
           AND EXISTS (SELECT FROM pg_catalog.pg_attribute a
                        WHERE a.attrelid = to_regclass(format('etl_rollback.%I', 'log_' || tc.table_id))
                          AND a.attname = 'n' || tc.position AND NOT a.attisdropped)
    ), images AS (
        -- jsonb_build_object takes at most 100 arguments: build 50 columns at a time and concatenate
        SELECT table_id,
               string_agg(o, ' || ' ORDER BY chunk) AS old_image,
               string_agg(n, ' || ' ORDER BY chunk) AS new_image
          FROM (SELECT table_id, chunk,
                       format('jsonb_build_object(%s)', string_agg(format('%L, l.o%s', column_name, position), ', ' ORDER BY position)) AS o,
                       format('jsonb_build_object(%s)', string_agg(format('%L, l.n%s', column_name, position), ', ' ORDER BY position)) AS n
                  FROM cols GROUP BY table_id, chunk) c
         GROUP BY table_id
    ), keys AS (
        SELECT table_id,
               format('jsonb_build_object(%s)', string_agg(format('%L, l.o%s', column_name, position), ', ' ORDER BY key_position)) AS old_key,
               format('jsonb_build_object(%s)', string_agg(format('%L, l.n%s', column_name, position), ', ' ORDER BY key_position)) AS new_key
          FROM cols WHERE key_position IS NOT NULL GROUP BY table_id
    )
    SELECT string_agg(format(
        $b$SELECT l.seq, m.migration_id::text AS migration_id, %L::text AS table_name,
       CASE s.op WHEN 'I' THEN 'INSERT' WHEN 'U' THEN 'UPDATE' WHEN 'D' THEN 'DELETE' ELSE 'TRUNCATE' END AS op,
       CASE WHEN s.op = 'I' THEN %s ELSE %s END AS pk,
       CASE WHEN s.op <> 'I' THEN %s END AS old_row,
       CASE WHEN s.op IN ('I', 'U') THEN %s END AS new_row,
       s.txid, s.changed_at, s.stmt
  FROM etl_rollback.%I l
  JOIN etl_rollback.statement s ON s.stmt = l.stmt
  JOIN etl_rollback.migration m ON m.mig = s.mig$b$,
        t.table_name, k.new_key, k.old_key, i.old_image, i.new_image, 'log_' || t.table_id),
        E'\nUNION ALL\n' ORDER BY t.table_id)
      INTO v_branches
      FROM etl_rollback.tracked_table t
      JOIN images i USING (table_id)
      JOIN keys k USING (table_id);

    EXECUTE 'CREATE OR REPLACE VIEW etl_rollback.changes AS ' || coalesce(v_branches,
        'SELECT NULL::bigint AS seq, NULL::text AS migration_id, NULL::text AS table_name, NULL::text AS op,'
        ' NULL::jsonb AS pk, NULL::jsonb AS old_row, NULL::jsonb AS new_row, NULL::bigint AS txid,'
        ' NULL::timestamptz AS changed_at, NULL::bigint AS stmt WHERE false');
END
$$;

-- _expect_rows: a --sql script's check that a restoring statement changed the rows it was planned to change.
CREATE OR REPLACE FUNCTION etl_rollback._expect_rows(p_changed bigint, p_planned bigint, p_statement text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    IF p_changed <> p_planned THEN
        RAISE EXCEPTION 'etl_rollback: % changed % of the % row(s) planned; the script stops and nothing is changed',
            p_statement, p_changed, p_planned USING HINT = 'The rows changed after the script was planned, or a foreign key''s action changed them as it ran:'
                   ' roll back with etl-rollback itself, or write a new script.';
    END IF;
END
$$;

REVOKE ALL ON FUNCTION etl_rollback._expect_rows(bigint, bigint, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION etl_rollback._check_migration_id(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION etl_rollback._session_migration() FROM PUBLIC;
REVOKE ALL ON FUNCTION etl_rollback._log_statement(bigint, integer, text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION etl_rollback._renumber(integer, bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION etl_rollback._log_type(oid, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION etl_rollback._table_key(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION etl_rollback._capture_function_source(integer, regclass, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION etl_rollback._capture_relations(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION etl_rollback._prepare_capture(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION etl_rollback.track(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION etl_rollback._track(regclass, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION etl_rollback.untrack(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION etl_rollback._refresh_changes_view() FROM PUBLIC;
-- a rollback checks that a table's columns are still those its log was written with
GRANT EXECUTE ON FUNCTION etl_rollback._log_type(oid, integer) TO etl_rollback_admin;
GRANT EXECUTE ON FUNCTION etl_rollback._prepare_capture(regclass) TO etl_rollback_admin;
GRANT EXECUTE ON FUNCTION etl_rollback.track(text) TO etl_rollback_admin;
GRANT EXECUTE ON FUNCTION etl_rollback._track(regclass, text) TO etl_rollback_admin;
GRANT EXECUTE ON FUNCTION etl_rollback.untrack(text) TO etl_rollback_admin;
GRANT EXECUTE ON FUNCTION etl_rollback._expect_rows(bigint, bigint, text) TO etl_rollback_admin;
-- any tagged session may set a checkpoint, with no other grant on the schema
GRANT USAGE ON SCHEMA etl_rollback TO PUBLIC;
GRANT EXECUTE ON FUNCTION etl_rollback.checkpoint(text) TO PUBLIC;

-- _regenerate_capture: rewrite every capture function from the current generator. It runs at the end
-- of this script, so that an upgrade that changes the capture upgrades that of tables tracked before it.
CREATE OR REPLACE FUNCTION etl_rollback._regenerate_capture()
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    v_fn record;
BEGIN
    FOR v_fn IN
        SELECT t.table_id, r.rel, e.event
          FROM etl_rollback.tracked_table t
         CROSS JOIN LATERAL etl_rollback._capture_relations(t.relid::oid::regclass) r
         CROSS JOIN unnest(ARRAY['I', 'U', 'D', 'T']) AS e(event)
         WHERE t.untracked_at IS NULL
           AND EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = t.relid::oid)
           AND (e.event <> 'T' OR r.has_storage)
           AND EXISTS (SELECT FROM pg_catalog.pg_proc p
                        WHERE p.pronamespace = 'etl_rollback'::regnamespace
                          AND p.proname = format('_capture_%s_%s_%s', t.table_id, r.rel::oid, lower(e.event)))
    LOOP
        EXECUTE etl_rollback._capture_function_source(v_fn.table_id, v_fn.rel, v_fn.event);
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION etl_rollback._regenerate_capture() FROM PUBLIC;

SELECT etl_rollback._regenerate_capture();
SELECT etl_rollback._refresh_changes_view();

/* [jooq ignore stop] */
