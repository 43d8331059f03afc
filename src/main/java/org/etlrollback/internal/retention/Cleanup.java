package org.etlrollback.internal.retention;

import static org.etlrollback.internal.schema.Tables.CHECKPOINT;
import static org.etlrollback.internal.schema.Tables.MIGRATION;
import static org.etlrollback.internal.schema.Tables.STATEMENT;
import static org.jooq.impl.DSL.any;
import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.greatest;
import static org.jooq.impl.DSL.max;
import static org.jooq.impl.DSL.name;
import static org.jooq.impl.DSL.select;
import static org.jooq.impl.DSL.sum;
import static org.jooq.impl.DSL.table;
import static org.jooq.impl.DSL.val;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.etlrollback.CleanupResult;
import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollbackException;
import org.etlrollback.internal.changelog.ChangeLog;
import org.etlrollback.internal.changelog.MigrationCatalog;
import org.etlrollback.internal.database.Database;
import org.etlrollback.internal.retention.CleanupSelection.Activity;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.SQLDialect;
import org.jooq.exception.DataAccessException;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deletes the logs of old migrations: their log rows, statements, checkpoints and catalog rows, in one transaction.
 *
 * <p>A migration is old when its last activity (its last logged change or checkpoint) came before the cutoff. It is kept when an open transaction is still writing under its id, when a rollback of it is running, or
 * when a migration linked to it by rollback ({@code X} and {@code rollback:X}) is kept: see
 * {@link CleanupSelection}. While the cleanup runs it holds the writer lock of each id it deletes, so a session
 * that starts writing under such an id waits, and then registers the id as a new migration.
 */
public final class Cleanup {
    private static final Logger LOG = LoggerFactory.getLogger(Cleanup.class);

    private final Database database;

    public Cleanup(Database database) {
        this.database = database;
    }

    /**
     * Deletes, or in a dry run only reports, the logs of the migrations whose last activity is older than
     * {@code olderThan}, measured on the server's clock.
     */
    public CleanupResult olderThan(Duration olderThan, boolean dryRun) {
        if (olderThan == null || olderThan.isNegative()) {
            throw new EtlRollbackException(ErrorCode.USAGE,
                    "cleanup: the age must be zero or more, was " + olderThan);
        }
        return inTransaction("cleanup", dsl -> {
            OffsetDateTime now = dsl.select(DSL.currentOffsetDateTime()).fetchSingle().value1();
            OffsetDateTime cutoff = now.minus(olderThan);
            CleanupSelection selection = choose(dsl, cutoff, Set.of());
            CleanupResult result = result(dsl, cutoff, dryRun, selection);
            if (!dryRun) {
                long rows = delete(dsl, selection.deleted());
                LOG.info("Deleted the logs of {} migration(s) last active before {}: {} log row(s), in {}",
                        selection.deleted().size(), cutoff, rows, database.description());
            }
            return result;
        });
    }

    /**
     * Deletes the logs of the named migrations, which must include every migration linked to them by rollback, and
     * none of which may be in use. Returns the log rows deleted.
     */
    public long migrations(Collection<String> migrationIds) {
        return inTransaction("cleanup " + String.join(", ", migrationIds), dsl -> {
            Set<String> named = Set.copyOf(migrationIds);
            // every migration counts as old, but only the named ones are candidates
            CleanupSelection selection = choose(dsl, OffsetDateTime.MAX, named);
            List<String> unknown = named.stream()
                    .filter(id -> selection.deleted().stream().noneMatch(m -> m.migrationId().equals(id))
                            && selection.kept().stream().noneMatch(k -> k.migration().migrationId().equals(id)))
                    .sorted().toList();
            if (!unknown.isEmpty()) {
                throw new EtlRollbackException(ErrorCode.FAILED, "unknown migration id(s) " + unknown
                        + "; nothing was deleted");
            }
            Optional<CleanupSelection.Kept> kept = selection.kept().stream()
                    .filter(k -> named.contains(k.migration().migrationId())).findFirst();
            if (kept.isPresent()) {
                CleanupSelection.Kept first = kept.get();
                throw new EtlRollbackException(ErrorCode.FAILED, "cannot delete the log of "
                        + first.migration().migrationId() + ": " + first.reason() + ". Nothing was deleted.");
            }
            return delete(dsl, selection.deleted());
        });
    }

    /**
     * Chooses the migrations to delete and locks them: each old one's writer lock (free unless an open transaction
     * writes under its id) and rollback lock (free unless a rollback of it runs). Then reads again, so that changes
     * committed before the locks were taken count.
     *
     * @param only when not empty, only these migration ids are candidates; every other one is kept
     */
    private static CleanupSelection choose(DSLContext dsl, OffsetDateTime cutoff, Set<String> only) {
        ChangeLog changeLog = new ChangeLog(dsl);
        Map<Integer, String> inUse = new LinkedHashMap<>();
        Set<Integer> checked = new HashSet<>();
        for (Activity m : CleanupSelection.old(activities(dsl), cutoff)) {
            checked.add(m.mig());
            if (!only.isEmpty() && !only.contains(m.migrationId())) {
                inUse.put(m.mig(), "it was not named");
            } else if (changeLog.isBeingWritten(m.migrationId())) {
                inUse.put(m.mig(), "an open transaction is still writing it");
            } else if (!changeLog.tryLockAgainstRollback(m.mig())) {
                inUse.put(m.mig(), "a rollback of it is running");
            }
        }
        List<Activity> again = activities(dsl);
        for (Activity m : CleanupSelection.old(again, cutoff)) {
            if (!checked.contains(m.mig())) {
                inUse.put(m.mig(), "it appeared while the cleanup ran");
            }
        }
        return CleanupSelection.of(again, cutoff, inUse);
    }

    /**
     * Every migration with its last logged change or checkpoint (or else its start). A rollback of it needs no
     * term of its own: it is the migration {@code rollback:X}, linked to it.
     */
    private static List<Activity> activities(DSLContext dsl) {
        Field<OffsetDateTime> lastChange = field(select(max(STATEMENT.CHANGED_AT)).from(STATEMENT)
                .where(STATEMENT.MIG.eq(MIGRATION.MIG)));
        Field<OffsetDateTime> lastCheckpoint = field(select(max(CHECKPOINT.CREATED_AT)).from(CHECKPOINT)
                .where(CHECKPOINT.MIG.eq(MIGRATION.MIG)));
        Field<OffsetDateTime> lastActivity = greatest(MIGRATION.STARTED_AT, lastChange, lastCheckpoint);
        return dsl.select(MIGRATION.MIG, MIGRATION.MIGRATION_ID, MIGRATION.ROLLBACK_OF, lastActivity)
                .from(MIGRATION)
                .fetch(r -> new Activity(r.value1(), r.value2(), Optional.ofNullable(r.value3()), r.value4()));
    }

    /** Deletes the migrations' log rows, statements, checkpoints and catalog rows; returns the log rows deleted. */
    private static long delete(DSLContext dsl, List<Activity> migrations) {
        if (migrations.isEmpty()) {
            return 0;
        }
        Integer[] migs = migrations.stream().map(Activity::mig).toArray(Integer[]::new);
        long rows = 0;
        List<Integer> tableIds = dsl.selectDistinct(STATEMENT.TABLE_ID).from(STATEMENT)
                .where(STATEMENT.MIG.eq(any(migs)))
                .orderBy(STATEMENT.TABLE_ID)
                .fetch(STATEMENT.TABLE_ID);
        for (int tableId : tableIds) {
            String logTable = "log_" + tableId;
            boolean exists = dsl.select(field("to_regclass(format('etl_rollback.%I', {0}::text)) is not null",
                    Boolean.class, val(logTable))).fetchSingle().value1();
            if (exists) {
                rows += dsl.deleteFrom(table(name("etl_rollback", logTable)))
                        .where(field(name("stmt"), SQLDataType.BIGINT).in(select(STATEMENT.STMT).from(STATEMENT)
                                .where(STATEMENT.MIG.eq(any(migs))).and(STATEMENT.TABLE_ID.eq(tableId))))
                        .execute();
            }
        }
        dsl.deleteFrom(STATEMENT).where(STATEMENT.MIG.eq(any(migs))).execute();
        dsl.deleteFrom(CHECKPOINT).where(CHECKPOINT.MIG.eq(any(migs))).execute();
        // a migration and its rollbacks go in one statement: the references between them are checked at its end
        dsl.deleteFrom(MIGRATION).where(MIGRATION.MIG.eq(any(migs))).execute();
        return rows;
    }

    private static CleanupResult result(DSLContext dsl, OffsetDateTime cutoff, boolean dryRun,
                                        CleanupSelection selection) {
        Map<Integer, Long> logRows = selection.deleted().isEmpty() ? Map.of()
                : dsl.select(STATEMENT.MIG, sum(STATEMENT.ROW_COUNT))
                .from(STATEMENT)
                .where(STATEMENT.MIG.eq(any(selection.deleted().stream().map(Activity::mig).toArray(Integer[]::new))))
                .groupBy(STATEMENT.MIG)
                .fetchMap(r -> r.value1(), r -> r.value2().longValueExact());
        return new CleanupResult(cutoff, dryRun,
                selection.deleted().stream().map(m -> new CleanupResult.Deleted(m.migrationId(), m.lastActivity(),
                        logRows.getOrDefault(m.mig(), 0L))).toList(),
                selection.kept().stream().map(k -> new CleanupResult.Kept(k.migration().migrationId(),
                        k.migration().lastActivity(), k.reason())).toList());
    }

    private <T> T inTransaction(String action, Work<T> work) {
        try (Connection connection = database.connect()) {
            return DSL.using(connection, SQLDialect.POSTGRES).transactionResult(trx -> {
                DSLContext dsl = trx.dsl();
                Database.pinSearchPath(dsl);
                database.requireInstalled(dsl);
                MigrationCatalog.requirePrivilege(dsl, "etl_rollback.migration", "DELETE",
                        "delete the log of migrations", "etl_rollback_admin");
                return work.run(dsl);
            });
        } catch (DataAccessException | SQLException e) {
            throw database.failure(action, e, "Nothing was deleted.");
        }
    }

    @FunctionalInterface
    private interface Work<T> {
        T run(DSLContext dsl);
    }
}
