package org.etlrollback.internal.changelog;

import static org.etlrollback.internal.schema.Tables.CHECKPOINT;
import static org.etlrollback.internal.schema.Tables.MIGRATION;
import static org.etlrollback.internal.schema.Tables.STATEMENT;
import static org.etlrollback.internal.schema.Tables.TRACKED_COLUMN;
import static org.etlrollback.internal.schema.Tables.TRACKED_TABLE;
import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.lateral;
import static org.jooq.impl.DSL.name;
import static org.jooq.impl.DSL.selectOne;
import static org.jooq.impl.DSL.table;
import static org.jooq.impl.DSL.val;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollbackException;
import org.etlrollback.internal.schema.tables.records.MigrationRecord;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.Record;

/**
 * Reads the change log's catalog: migrations, the tables they changed and how those tables are logged.
 */
public final class ChangeLog {
    /** First key of the advisory locks that writers under a migration id hold ('ERLW'). */
    private static final int WRITER_LOCK_CLASS = 0x45524c57;
    /** First key of the advisory locks that keep a rollback of a migration apart from others ('ERLB'). */
    private static final int ROLLBACK_LOCK_CLASS = 0x45524c42;

    private final DSLContext dsl;

    public ChangeLog(DSLContext dsl) {
        this.dsl = dsl;
    }

    /**
     * The current role (quoted where needed), when it may not roll back: only the engine's owner and members of
     * etl_rollback_admin may change the migrations' status, which every rollback does.
     */
    public Optional<String> roleThatMayNotRollBack() {
        return dsl.select(field("quote_ident(current_user)", String.class))
                .where(field("has_table_privilege('etl_rollback.migration', 'UPDATE')", Boolean.class).isFalse())
                .fetchOptional(0, String.class);
    }

    public Optional<LoggedMigration> migration(String migrationId) {
        return dsl.selectFrom(MIGRATION).where(MIGRATION.MIGRATION_ID.eq(migrationId)).fetchOptional()
                .map(ChangeLog::toMigration);
    }

    public Optional<LoggedMigration> migration(int mig) {
        return dsl.selectFrom(MIGRATION).where(MIGRATION.MIG.eq(mig)).fetchOptional().map(ChangeLog::toMigration);
    }

    /** The migration, locked against a concurrent status change until the transaction ends. */
    public LoggedMigration lockMigration(int mig) {
        return toMigration(dsl.selectFrom(MIGRATION).where(MIGRATION.MIG.eq(mig)).forUpdate().fetchSingle());
    }

    public Optional<Long> checkpointSeq(int mig, String name) {
        return dsl.select(CHECKPOINT.SEQ).from(CHECKPOINT)
                .where(CHECKPOINT.MIG.eq(mig)).and(CHECKPOINT.NAME.eq(name))
                .fetchOptional(CHECKPOINT.SEQ);
    }

    public List<String> checkpointNames(int mig) {
        return dsl.select(CHECKPOINT.NAME).from(CHECKPOINT).where(CHECKPOINT.MIG.eq(mig))
                .orderBy(CHECKPOINT.SEQ).fetch(CHECKPOINT.NAME);
    }

    /**
     * Takes the migration's rollback lock until the transaction ends, unless another transaction holds it: a
     * rollback of the migration, or a cleanup deleting it. Returns whether it was taken.
     */
    public boolean tryLockAgainstRollback(int mig) {
        return dsl.select(field("pg_try_advisory_xact_lock({0}, {1})", Boolean.class,
                val(ROLLBACK_LOCK_CLASS), val(mig))).fetchSingle().value1();
    }

    /**
     * Whether a transaction that wrote under the migration id is still open. Its rows, and even the id, are
     * invisible until it commits, but it holds a shared lock on the id until it ends (see
     * {@code etl_rollback._session_migration}). When none does, this transaction takes the lock exclusively, so
     * that later writers under the id wait for it to end.
     */
    public boolean isBeingWritten(String migrationId) {
        return !dsl.select(field("pg_try_advisory_xact_lock({0}, hashtext({1}))", Boolean.class,
                val(WRITER_LOCK_CLASS), val(migrationId))).fetchSingle().value1();
    }

    /**
     * The tables a migration changed (in the given window of seq), as they are logged now. Refuses a table that
     * was dropped, or whose columns changed since the log was written without being tracked again.
     */
    public List<LoggedTable> tablesChangedBy(int mig) {
        // one probe of the migration's statements per table ever tracked, however many statements it has
        List<Integer> tableIds = dsl.select(TRACKED_TABLE.TABLE_ID).from(TRACKED_TABLE)
                .crossJoin(lateral(selectOne().from(STATEMENT)
                        .where(STATEMENT.MIG.eq(mig)).and(STATEMENT.TABLE_ID.eq(TRACKED_TABLE.TABLE_ID)).limit(1)))
                .orderBy(TRACKED_TABLE.TABLE_ID).fetch(TRACKED_TABLE.TABLE_ID);
        List<LoggedTable> tables = new ArrayList<>();
        for (int tableId : tableIds) {
            LoggedTable table = loggedTable(tableId);
            checkColumnsLogged(mig, table);
            tables.add(table);
        }
        return tables;
    }

    /** The names of the tables a migration changed that are no longer tracked, but for some, by name. */
    public List<String> untrackedTablesChangedBy(int mig, List<LoggedTable> except) {
        return dsl.select(TRACKED_TABLE.TABLE_NAME).from(TRACKED_TABLE)
                .where(TRACKED_TABLE.UNTRACKED_AT.isNotNull())
                .and(TRACKED_TABLE.TABLE_ID.notIn(except.stream().map(LoggedTable::tableId).toList()))
                .andExists(selectOne().from(STATEMENT)
                        .where(STATEMENT.MIG.eq(mig)).and(STATEMENT.TABLE_ID.eq(TRACKED_TABLE.TABLE_ID)))
                .orderBy(TRACKED_TABLE.TABLE_NAME).fetch(TRACKED_TABLE.TABLE_NAME);
    }

    private LoggedTable loggedTable(int tableId) {
        // quoted by the server, as etl_rollback.tracked_tables names it (quote_ident also quotes reserved words)
        // null for a dropped table (format() refuses to quote a null), which is refused below by name
        Field<String> qualified = field("case when {1} is not null then format('%I.%I', {0}, {1}) end", String.class,
                field(name("n", "nspname")), field(name("c", "relname")));
        // a table (not partitioned) in inheritance: its capture may hold a child's rows, or miss writes through a parent
        Field<Boolean> inherits = field("""
                {0} = 'r' and exists (select from pg_catalog.pg_inherits i
                                       where i.inhparent = {1} or i.inhrelid = {1})""", Boolean.class,
                field(name("c", "relkind")), field(name("c", "oid")));
        Record tracked = dsl.select(TRACKED_TABLE.TABLE_NAME, TRACKED_TABLE.RELID,
                        field(name("n", "nspname"), String.class), field(name("c", "relname"), String.class),
                        qualified, inherits)
                .from(TRACKED_TABLE)
                .leftJoin(table(name("pg_catalog", "pg_class")).as("c"))
                .on(field(name("c", "oid")).cast(Long.class).eq(TRACKED_TABLE.RELID))
                .leftJoin(table(name("pg_catalog", "pg_namespace")).as("n"))
                .on(field(name("n", "oid")).eq(field(name("c", "relnamespace"))))
                .where(TRACKED_TABLE.TABLE_ID.eq(tableId))
                .fetchSingle();
        String logged = tracked.get(TRACKED_TABLE.TABLE_NAME);
        String schema = tracked.get(field(name("n", "nspname"), String.class));
        if (schema == null) {
            throw new EtlRollbackException(ErrorCode.FAILED, "table " + logged
                    + " has been dropped since its changes were logged; its rows cannot be restored");
        }
        long relid = tracked.get(TRACKED_TABLE.RELID);
        if (tracked.get(inherits)) {
            throw new EtlRollbackException(ErrorCode.FAILED, "table " + tracked.get(qualified) + " takes part in"
                    + " table inheritance since it was tracked (a table inherits from it, or it from another, or it is"
                    + " a partition), which etl-rollback does not support: its log may hold a child table's rows as"
                    + " its own, or miss changes made through a parent, so its rows cannot be restored exactly."
                    + " Nothing was changed.");
        }
        List<LoggedColumn> columns = dsl.selectFrom(TRACKED_COLUMN)
                .where(TRACKED_COLUMN.TABLE_ID.eq(tableId)).and(TRACKED_COLUMN.DROPPED.isFalse())
                .orderBy(TRACKED_COLUMN.POSITION)
                .fetch(r -> new LoggedColumn(r.getPosition(), r.getColumnName(), r.getTypeName(),
                        Optional.ofNullable(r.getKeyPosition()), r.getGenerated(), r.getIdentityAlways(),
                        r.getLoggedSince()));
        LoggedTable shape = new LoggedTable(tableId, schema, tracked.get(field(name("c", "relname"), String.class)),
                tracked.get(qualified), relid, columns, Map.of());
        checkShape(shape, logged);
        return new LoggedTable(shape.tableId(), shape.schema(), shape.name(), shape.qualifiedName(), relid, columns,
                keyEquality(shape));
    }

    /**
     * How the index that identifies the rows compares each key column. The columns the log identifies rows by must
     * still identify them: be the primary key, or a unique key on non-null columns (the primary key is preferred
     * where both are). Otherwise a restore joined on them could reach several rows, other sessions' among them.
     */
    private Map<String, KeyEquality> keyEquality(LoggedTable table) {
        String[] keys = table.keyColumns().stream().map(LoggedColumn::name).toArray(String[]::new);
        Map<String, KeyEquality> equality = new HashMap<>();
        dsl.resultQuery("""
                        with key_index as (
                            select i.indrelid, i.indkey, i.indclass, i.indcollation
                              from pg_catalog.pg_index i
                             where i.indrelid = {0}::oid and i.indisunique and i.indisvalid
                               and i.indpred is null and i.indexprs is null
                               and array(select a.attname::text
                                           from unnest(i.indkey) with ordinality k(attnum, ord)
                                           join pg_catalog.pg_attribute a
                                             on a.attrelid = i.indrelid and a.attnum = k.attnum
                                          where k.ord <= i.indnkeyatts
                                          order by 1)
                                   = array(select k from unnest({1}::text[]) k order by 1)
                               and not exists (select from pg_catalog.pg_attribute a
                                                where a.attrelid = i.indrelid and a.attname = any({1}::text[])
                                                  and not a.attnotnull)
                             order by i.indisprimary desc, i.indexrelid
                             limit 1)
                        select a.attname::text, format('%I.%s', opn.nspname, op.oprname),
                               case when not co.collisdeterministic
                                    then format('%I.%I', con.nspname, co.collname) end
                          from key_index i
                         cross join lateral unnest(i.indkey::int2[], i.indclass::oid[], i.indcollation::oid[])
                               with ordinality k(attnum, opclass, coll, ord)
                          join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
                          join pg_catalog.pg_opclass oc on oc.oid = k.opclass
                          join pg_catalog.pg_amop ao on ao.amopfamily = oc.opcfamily and ao.amopstrategy = 3
                           and ao.amoplefttype = oc.opcintype and ao.amoprighttype = oc.opcintype
                          join pg_catalog.pg_operator op on op.oid = ao.amopopr
                          join pg_catalog.pg_namespace opn on opn.oid = op.oprnamespace
                          left join pg_catalog.pg_collation co on co.oid = k.coll
                          left join pg_catalog.pg_namespace con on con.oid = co.collnamespace""",
                        val(table.relid()), val(keys))
                .forEach(r -> equality.put(r.get(0, String.class),
                        new KeyEquality(r.get(1, String.class), Optional.ofNullable(r.get(2, String.class)))));
        if (equality.isEmpty()) {
            throw new EtlRollbackException(ErrorCode.FAILED, "table " + table.qualifiedName() + " no longer has a"
                    + " primary key or a unique key on non-null columns " + List.of(keys) + ", by which its log"
                    + " identifies rows. Nothing was changed. Track the table again to log it by the key it has now.");
        }
        return equality;
    }

    /**
     * Every column must have been logged by all of the migration's statements on the table: a column added to
     * the table (and logged from the next track on) after the migration changed it has no before-image there.
     */
    private void checkColumnsLogged(int mig, LoggedTable table) {
        Long firstStmt = dsl.select(STATEMENT.STMT).from(STATEMENT)
                .where(STATEMENT.MIG.eq(mig)).and(STATEMENT.TABLE_ID.eq(table.tableId()))
                .orderBy(STATEMENT.STMT).limit(1)
                .fetchSingle().value1();
        List<String> unlogged = table.columns().stream()
                .filter(c -> c.loggedSince() > firstStmt)
                .map(LoggedColumn::name)
                .toList();
        if (!unlogged.isEmpty()) {
            throw new EtlRollbackException(ErrorCode.FAILED, "table " + table.qualifiedName() + " has column(s) "
                    + unlogged + " that were not logged when the migration changed it (they were added to the table "
                    + "and tracked later); their before-images are unknown, so its rows cannot be restored exactly. "
                    + "Nothing was changed.");
        }
    }

    /** The table's columns must be those the log holds: same names (by attnum) and types. */
    /**
     * Refuses a table whose columns are no longer those its log was written with: by attribute number, name, type,
     * and whether each is generated or an identity GENERATED ALWAYS. A column renamed, dropped and added again
     * under its name, or no longer generated, would otherwise be restored from another column's log, or not at all.
     */
    private void checkShape(LoggedTable table, String logged) {
        Map<Integer, String> current = dsl.resultQuery("""
                        select a.attnum::int, format('%s %s%s%s', a.attname, etl_rollback._log_type(a.atttypid,
                               a.atttypmod), case when a.attgenerated = 's' then ' generated' else '' end,
                               case when a.attidentity = 'a' then ' identity always' else '' end)
                          from pg_catalog.pg_attribute a
                         where a.attrelid = {0}::oid and a.attnum > 0 and not a.attisdropped
                           and a.attgenerated <> 'v'""", val(table.relid()))
                .fetchMap(r -> r.get(0, Integer.class), r -> r.get(1, String.class));
        Map<Integer, String> inLog = dsl.select(TRACKED_COLUMN.ATTNUM, TRACKED_COLUMN.COLUMN_NAME,
                        TRACKED_COLUMN.TYPE_NAME, TRACKED_COLUMN.GENERATED, TRACKED_COLUMN.IDENTITY_ALWAYS)
                .from(TRACKED_COLUMN)
                .where(TRACKED_COLUMN.TABLE_ID.eq(table.tableId())).and(TRACKED_COLUMN.DROPPED.isFalse())
                .fetchMap(r -> r.value1(), r -> r.value2() + " " + r.value3() + (r.value4() ? " generated" : "")
                        + (r.value5() ? " identity always" : ""));
        if (!current.equals(inLog)) {
            throw new EtlRollbackException(ErrorCode.FAILED, "table " + table.qualifiedName()
                    + " (logged as " + logged + ") no longer has the columns its log was written with: log "
                    + new TreeMap<>(inLog).values() + ", table " + new TreeMap<>(current).values()
                    + ". Nothing was changed. Changes made since the table was altered were not logged completely;"
                    + " track the table again to log its columns as they are.");
        }
    }

    private static LoggedMigration toMigration(MigrationRecord r) {
        return new LoggedMigration(r.getMig(), r.getMigrationId(), r.getStatus(),
                Optional.ofNullable(r.getUndoneAfterSeq()), Optional.ofNullable(r.getRollbackOf()));
    }
}
