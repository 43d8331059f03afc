package org.etlrollback.internal.changelog;

import static org.etlrollback.internal.schema.Tables.CHECKPOINT;
import static org.etlrollback.internal.schema.Tables.MIGRATION;
import static org.etlrollback.internal.schema.Tables.STATEMENT;
import static org.etlrollback.internal.schema.Tables.TRACKED_TABLE;
import static org.jooq.impl.DSL.coalesce;
import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.inline;
import static org.jooq.impl.DSL.name;
import static org.jooq.impl.DSL.select;
import static org.jooq.impl.DSL.sum;
import static org.jooq.impl.DSL.table;
import static org.jooq.impl.DSL.val;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollbackException;
import org.etlrollback.MigrationDetail;
import org.etlrollback.MigrationSummary;
import org.etlrollback.internal.database.Database;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.Record;
import org.jooq.SQLDialect;
import org.jooq.Table;
import org.jooq.exception.DataAccessException;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;

/**
 * Reads what the log knows about migrations, for {@code list} and {@code show}. The list comes from the view
 * {@code etl_rollback.migrations} (readable by {@code etl_rollback_viewer}); the details of one migration from the
 * catalog and the log tables themselves (readable by the owner and {@code etl_rollback_admin}).
 */
public final class MigrationCatalog {
    private static final Table<?> MIGRATIONS = table(name("etl_rollback", "migrations"));
    private static final Field<String> ID = field(name("migrations", "migration_id"), SQLDataType.VARCHAR);
    private static final Field<String> NAME = field(name("migrations", "name"), SQLDataType.VARCHAR);
    private static final Field<String> STATUS = field(name("migrations", "status"), SQLDataType.VARCHAR);
    private static final Field<OffsetDateTime> STARTED_AT = field(name("migrations", "started_at"),
            SQLDataType.TIMESTAMPWITHTIMEZONE);
    private static final Field<OffsetDateTime> LAST_CHANGE_AT = field(name("migrations", "last_change_at"),
            SQLDataType.TIMESTAMPWITHTIMEZONE);
    private static final Field<String[]> TABLES = field(name("migrations", "tables"), SQLDataType.VARCHAR.array());
    private static final Field<Long> ROW_CHANGES = field(name("migrations", "row_changes"), SQLDataType.BIGINT);

    private final Database database;

    public MigrationCatalog(Database database) {
        this.database = database;
    }

    /** Every migration, newest first (by start, then by last change). */
    public List<MigrationSummary> list() {
        return read("list", dsl -> {
            database.requireInstalled(dsl);
            requirePrivilege(dsl, "etl_rollback.migrations", "SELECT", "list the migrations", "etl_rollback_viewer");
            return dsl.select(ID, NAME, STATUS, STARTED_AT, LAST_CHANGE_AT, TABLES, ROW_CHANGES)
                    .from(MIGRATIONS)
                    .orderBy(STARTED_AT.desc(), LAST_CHANGE_AT.desc().nullsLast(), ID.desc())
                    .fetch(MigrationCatalog::summary);
        });
    }

    /**
     * One migration: its changes per table, the bytes its log rows take, its checkpoints.
     *
     * @throws EtlRollbackException with {@link ErrorCode#FAILED} for an unknown migration id
     */
    public MigrationDetail show(String migrationId) {
        return read("show " + migrationId, dsl -> {
            database.requireInstalled(dsl);
            requirePrivilege(dsl, "etl_rollback.statement", "SELECT", "show a migration's log", "etl_rollback_admin");
            Record row = dsl.select(ID, NAME, STATUS, STARTED_AT, LAST_CHANGE_AT, TABLES, ROW_CHANGES,
                            MIGRATION.MIG, MIGRATION.STARTED_BY, MIGRATION.ROLLED_BACK_AT, MIGRATION.ROLLBACK_OF)
                    .from(MIGRATIONS)
                    .join(MIGRATION).on(MIGRATION.MIGRATION_ID.eq(ID))
                    .where(ID.eq(migrationId))
                    .fetchOptional()
                    .orElseThrow(() -> new EtlRollbackException(ErrorCode.FAILED, "unknown migration id " + migrationId
                            + ": no changes were logged under it (etl-rollback list shows the known ones)"));
            int mig = row.get(MIGRATION.MIG);
            Optional<String> rollbackOf = Optional.ofNullable(row.get(MIGRATION.ROLLBACK_OF)).map(of ->
                    dsl.select(MIGRATION.MIGRATION_ID).from(MIGRATION).where(MIGRATION.MIG.eq(of))
                            .fetchSingle(MIGRATION.MIGRATION_ID));
            List<String> rollbacks = dsl.select(MIGRATION.MIGRATION_ID).from(MIGRATION)
                    .where(MIGRATION.ROLLBACK_OF.eq(mig))
                    .orderBy(MIGRATION.MIG)
                    .fetch(MIGRATION.MIGRATION_ID);
            List<MigrationDetail.Checkpoint> checkpoints = dsl.select(CHECKPOINT.NAME, CHECKPOINT.SEQ,
                            CHECKPOINT.CREATED_AT)
                    .from(CHECKPOINT)
                    .where(CHECKPOINT.MIG.eq(mig))
                    .orderBy(CHECKPOINT.SEQ)
                    .fetch(r -> new MigrationDetail.Checkpoint(r.value1(), r.value2(), r.value3()));
            return new MigrationDetail(summary(row), row.get(MIGRATION.STARTED_BY),
                    Optional.ofNullable(row.get(MIGRATION.ROLLED_BACK_AT)), rollbackOf, rollbacks,
                    tableChanges(dsl, mig), checkpoints);
        });
    }

    /** Per table the migration changed: rows per operation (from its statements) and the bytes of its log. */
    private static List<MigrationDetail.TableChanges> tableChanges(DSLContext dsl, int mig) {
        return dsl.select(STATEMENT.TABLE_ID, TRACKED_TABLE.TABLE_NAME, rows("I"), rows("U"), rows("D"), rows("T"))
                .from(STATEMENT)
                .join(TRACKED_TABLE).on(TRACKED_TABLE.TABLE_ID.eq(STATEMENT.TABLE_ID))
                .where(STATEMENT.MIG.eq(mig))
                .groupBy(STATEMENT.TABLE_ID, TRACKED_TABLE.TABLE_NAME)
                .orderBy(TRACKED_TABLE.TABLE_NAME)
                .fetch(r -> {
                    LogSize size = logSize(dsl, mig, r.value1());
                    return new MigrationDetail.TableChanges(r.value2(), longValue(r.value3()), longValue(r.value4()),
                            longValue(r.value5()), longValue(r.value6()), size.rowBytes(), size.tableBytes());
                });
    }

    private static Field<BigDecimal> rows(String op) {
        return coalesce(sum(STATEMENT.ROW_COUNT).filterWhere(STATEMENT.OP.eq(op)), BigDecimal.ZERO);
    }

    /** Bytes of the migration's rows in the table's log, and of the whole log table with its indexes. */
    private static LogSize logSize(DSLContext dsl, int mig, int tableId) {
        String logTable = "log_" + tableId;
        Field<Long> tableBytes = field("pg_total_relation_size(to_regclass(format('etl_rollback.%I', {0}::text)))",
                SQLDataType.BIGINT, val(logTable));
        Long total = dsl.select(tableBytes).fetchSingle().value1();
        if (total == null) {
            // the log table is gone: nothing of this table's changes is left to measure
            return new LogSize(0, 0);
        }
        Table<?> log = table(name("etl_rollback", logTable)).as("l");
        Field<Long> rowBytes = coalesce(sum(field("pg_column_size({0}.*)", SQLDataType.BIGINT, name("l"))),
                BigDecimal.ZERO).cast(SQLDataType.BIGINT);
        Long bytes = dsl.select(rowBytes)
                .from(log)
                .where(field(name("l", "stmt"), SQLDataType.BIGINT).in(
                        select(STATEMENT.STMT).from(STATEMENT)
                                .where(STATEMENT.MIG.eq(mig)).and(STATEMENT.TABLE_ID.eq(tableId))))
                .fetchSingle().value1();
        return new LogSize(bytes, total);
    }

    private static MigrationSummary summary(Record r) {
        String[] tables = r.get(TABLES);
        return new MigrationSummary(r.get(ID), Optional.ofNullable(r.get(NAME)),
                MigrationSummary.Status.of(r.get(STATUS)), r.get(STARTED_AT), Optional.ofNullable(r.get(LAST_CHANGE_AT)),
                tables == null ? List.of() : Arrays.asList(tables), r.get(ROW_CHANGES));
    }

    private static long longValue(BigDecimal value) {
        return value == null ? 0 : value.longValueExact();
    }

    /**
     * Refuses to go on when the current role lacks a privilege on one of the engine's tables, naming the role to
     * grant.
     *
     * @param table     e.g. {@code etl_rollback.statement}
     * @param privilege e.g. {@code SELECT}
     * @param action    what could not be done, e.g. "show a migration's log"
     * @param role      the engine's role that holds the privilege
     */
    public static void requirePrivilege(DSLContext dsl, String table, String privilege, String action, String role) {
        Optional<String> lacking = dsl.select(field("quote_ident(current_user)", String.class))
                .where(field("has_table_privilege({0}, {1})", Boolean.class, inline(table), inline(privilege)).isFalse())
                .fetchOptional(0, String.class);
        if (lacking.isPresent()) {
            throw new EtlRollbackException(ErrorCode.FAILED, "role " + lacking.get() + " may not " + action
                    + ": that needs the owner of etl-rollback or a member of " + role + " (GRANT " + role + " TO "
                    + lacking.get() + "). Nothing was changed.");
        }
    }

    private <T> T read(String action, Query<T> query) {
        try (Connection connection = database.connect()) {
            return DSL.using(connection, SQLDialect.POSTGRES).transactionResult(trx -> {
                Database.pinSearchPath(trx.dsl());
                return query.run(trx.dsl());
            });
        } catch (DataAccessException | SQLException e) {
            throw database.failure(action, e, "Nothing was changed.");
        }
    }

    @FunctionalInterface
    private interface Query<T> {
        T run(DSLContext dsl);
    }

    /** Bytes of a migration's rows in one log table, and of that whole log table. */
    private record LogSize(long rowBytes, long tableBytes) {
    }
}
