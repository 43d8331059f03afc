package org.etlrollback;

import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.inline;
import static org.jooq.impl.DSL.name;
import static org.jooq.impl.DSL.val;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.etlrollback.internal.changelog.ChangeLog;
import org.etlrollback.internal.changelog.LoggedMigration;
import org.etlrollback.internal.changelog.LoggedTable;
import org.etlrollback.internal.database.Database;
import org.etlrollback.internal.execute.ApplicationTriggers;
import org.etlrollback.internal.execute.Sequences;
import org.etlrollback.internal.execute.Executor;
import org.etlrollback.internal.execute.LogRestore;
import org.etlrollback.internal.plan.LogWindow;
import org.etlrollback.internal.plan.Planner;
import org.etlrollback.internal.plan.RollbackPlan;
import org.etlrollback.internal.plan.ScriptWriter;
import org.etlrollback.internal.plan.TablePlan;
import org.etlrollback.internal.plan.UnloggedActions;
import org.etlrollback.internal.verify.Verifier;
import org.jooq.DSLContext;
import org.jooq.Name;
import org.jooq.SQLDialect;
import org.jooq.exception.DataAccessException;
import org.jooq.impl.DSL;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rolls back one migration: every row it changed returns to the state it had just before the migration first
 * changed it; every other row stays as it is. One transaction: it happens whole or not at all.
 *
 * <pre>{@code
 * RollbackResult result = Reverser.using(dataSource).rollback("load_2026_11");
 * }</pre>
 */
public final class Reverser {
    private static final Logger LOG = LoggerFactory.getLogger(Reverser.class);
    /** The most characters a migration id has (etl_rollback.migration.migration_id). */
    static final int MAX_ID_LENGTH = 200;
    /** How long the first round of a rollback's table locks waits for each table after the first; rounds double it. */
    private static final long FIRST_BRIEF_WAIT_MS = 20;
    /** The most a round of table locks waits for each table after the first. */
    private static final long LONGEST_BRIEF_WAIT_MS = 1000;
    /** Where {@link #rollbackInTransaction} keeps its plan tables. */
    private static final String PLAN_SCHEMA = "etl_rollback";

    private final DataSource dataSource;

    private Reverser(DataSource dataSource) {
        this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
    }

    public static Reverser using(DataSource dataSource) {
        return new Reverser(dataSource);
    }

    /** Rolls back the migration with the default options: abort on conflicts, no verification. */
    public RollbackResult rollback(String migrationId) {
        return rollback(migrationId, RollbackOptions.defaults());
    }

    public RollbackResult rollback(String migrationId, RollbackOptions options) {
        requireMigrationId(migrationId);
        Objects.requireNonNull(options, "options");
        long started = System.nanoTime();
        try (Connection connection = dataSource.getConnection()) {
            connection.setAutoCommit(false);
            DSLContext dsl = DSL.using(connection, SQLDialect.POSTGRES);
            RollbackResult result;
            try {
                result = new Run(dsl, connection, options, started, Optional.empty()).top(migrationId);
            } catch (RuntimeException e) {
                // on a lost connection this fails too; the transaction is gone either way, and e says why
                try {
                    connection.rollback();
                } catch (SQLException rollbackFailed) {
                    e.addSuppressed(rollbackFailed);
                }
                throw translate(e, migrationId);
            }
            if (options.dryRun() || result.outcome() == RollbackResult.Outcome.ALREADY_ROLLED_BACK) {
                connection.rollback();
            } else {
                commit(connection, migrationId);
            }
            LOG.info("Rollback of {}: {}, {} row(s) in {} ms", migrationId, result.outcome(),
                    result.rowsRestored(), result.duration().toMillis());
            return result;
        } catch (SQLException e) {
            throw new EtlRollbackException(ErrorCode.FAILED, "rollback of " + migrationId + " failed: "
                    + e.getMessage() + ". Nothing was changed.", e);
        }
    }

    /**
     * Rolls back inside the caller's transaction on {@code connection} (autocommit off, from this Reverser's
     * database), and neither commits nor rolls back: the caller ends the transaction, e.g. with
     * {@code PREPARE TRANSACTION} for a two-phase commit across databases. PostgreSQL cannot prepare a transaction
     * that used temporary tables, so the plan is kept in regular tables of the schema {@code etl_rollback},
     * dropped again before this returns; that needs CREATE on the schema (its owner has it). The rest of the
     * transaction keeps the rollback's settings, among them {@code search_path = pg_catalog, pg_temp}.
     *
     * @throws EtlRollbackException as {@link #rollback(String, RollbackOptions)}; the caller must then roll the
     *                              transaction back
     */
    RollbackResult rollbackInTransaction(Connection connection, String migrationId, RollbackOptions options) {
        Objects.requireNonNull(connection, "connection");
        requireMigrationId(migrationId);
        Objects.requireNonNull(options, "options");
        long started = System.nanoTime();
        DSLContext dsl = DSL.using(connection, SQLDialect.POSTGRES);
        try {
            Run run = new Run(dsl, connection, options, started, Optional.of(PLAN_SCHEMA));
            RollbackResult result = run.top(migrationId);
            run.dropPlanTables();
            return result;
        } catch (RuntimeException e) {
            throw translate(e, migrationId);
        }
    }

    /**
     * Commits the rollback. A commit that fails with an answer from the server (a deferred constraint) changed
     * nothing; one whose connection went may or may not have been committed, and the message says so.
     */
    private static void commit(Connection connection, String migrationId) throws SQLException {
        try {
            connection.commit();
        } catch (SQLException e) {
            String state = e.getSQLState() == null ? "" : e.getSQLState();
            if (state.isEmpty() || state.startsWith("08") || state.startsWith("57P") || connection.isClosed()) {
                throw new EtlRollbackException(ErrorCode.FAILED, "rollback of " + migrationId + ": the connection"
                        + " to the database was lost while committing (" + e.getMessage() + "), so it may or may not"
                        + " have been committed. etl_rollback.migrations shows " + migrationId + " as rolled_back if"
                        + " it was; rolling it back again is safe either way.", e);
            }
            throw e;
        }
    }

    /**
     * The id of the {@code n}-th rollback of a migration: {@code rollback:X}, then {@code rollback:X#2}, ... Where that
     * would be longer than a migration id may be ({@value #MAX_ID_LENGTH} characters), X is cut short and the
     * surrogate of X keeps the id unique: {@code rollback:X…~42}, {@code rollback:X…~42#2}.
     */
    static String rollbackId(String migrationId, int mig, int n) {
        String suffix = n == 1 ? "" : "#" + n;
        String id = "rollback:" + migrationId + suffix;
        if (id.codePointCount(0, id.length()) <= MAX_ID_LENGTH) {
            return id;
        }
        String tail = "…~" + mig + suffix;
        int keep = MAX_ID_LENGTH - "rollback:".length() - tail.codePointCount(0, tail.length());
        return "rollback:" + migrationId.substring(0, migrationId.offsetByCodePoints(0, keep)) + tail;
    }

    /** An empty etl_rollback.migration_id tags nothing, so no migration has the empty id: that is a usage error. */
    private static void requireMigrationId(String migrationId) {
        Objects.requireNonNull(migrationId, "migrationId");
        if (migrationId.isEmpty()) {
            throw new EtlRollbackException(ErrorCode.USAGE,
                    "rollback: name a migration id, e.g. load_2026_11 (an empty id is never logged)."
                            + " Nothing was changed.");
        }
    }

    /** A migration id as messages show it: whole, unless it is longer than any id can be. */
    private static String shown(String migrationId) {
        int length = migrationId.codePointCount(0, migrationId.length());
        return length <= MAX_ID_LENGTH ? migrationId
                : migrationId.substring(0, migrationId.offsetByCodePoints(0, 40)) + "... (" + length + " characters)";
    }

    private static RuntimeException translate(RuntimeException e, String migrationId) {
        if (e instanceof EtlRollbackException) {
            return e;
        }
        if (e instanceof DataAccessException dae) {
            if ("3F000".equals(dae.sqlState()) && rootMessage(dae).contains("\"etl_rollback\"")) {
                return new EtlRollbackException(ErrorCode.FAILED, "etl-rollback is not installed in this database:"
                        + " there is no schema etl_rollback with its log, so there is nothing to roll back. Run"
                        + " 'etl-rollback install' first. Nothing was changed.", dae);
            }
            return new EtlRollbackException(ErrorCode.FAILED, "rollback of " + migrationId + " failed: "
                    + rootMessage(dae) + ". Nothing was changed.", dae);
        }
        return e;
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getMessage();
    }

    /** One rollback transaction, with the migrations it cascades to. */
    private static final class Run {
        private final DSLContext dsl;
        private final Connection connection;
        private final RollbackOptions options;
        private final long started;
        private final ChangeLog changeLog;
        private final Set<Integer> inProgress = new LinkedHashSet<>();
        /** The migrations this run has rolled back, and the rollbacks it has logged: a cascade leaves them be. */
        private final Set<String> handled = new HashSet<>();
        private final List<String> cascaded = new ArrayList<>();
        /** What the migrations this run rolls back changed beyond their logs, which it cannot restore. */
        private final Set<String> warnings = new LinkedHashSet<>();
        private final Optional<String> planSchema;
        private final Set<Name> planTables = new LinkedHashSet<>();
        /** The tables this run inserted rows back into, by OID: their sequences must stay ahead of those rows. */
        private final Map<Long, LoggedTable> refilled = new LinkedHashMap<>();

        Run(DSLContext dsl, Connection connection, RollbackOptions options, long started,
            Optional<String> planSchema) {
            this.dsl = dsl;
            this.connection = connection;
            this.options = options;
            this.started = started;
            this.changeLog = new ChangeLog(dsl);
            this.planSchema = planSchema;
        }

        /** Drops the plan tables kept in a schema (temporary ones go at commit by themselves). */
        void dropPlanTables() {
            if (planSchema.isPresent()) {
                planTables.forEach(t -> dsl.dropTableIfExists(t).execute());
            }
        }

        RollbackResult top(String migrationId) {
            Database.pinSearchPath(dsl);
            // each statement sees what was committed before it began, the changes of the writers whose locks the
            // rollback waited for among them, whatever isolation the session would default to
            dsl.execute("set transaction isolation level read committed");
            requireTriggersFire(migrationId);
            // for the transaction, in one round trip:
            // - row_security off: a row that row-level security hides would look absent, and be restored wrongly or
            //   not at all; with it off, a statement that a policy would filter fails instead;
            // - extra_float_digits, datestyle, intervalstyle, bytea_output: text forms of values (in --sql scripts)
            //   that read back exactly anywhere;
            // - work_mem, jit: plans sort and hash large sets in one go; compiling them would cost more than it saves
            dsl.execute("select set_config('row_security', 'off', true), set_config('lock_timeout', {0}, true),"
                            + " set_config('extra_float_digits', '3', true), set_config('datestyle', 'ISO, YMD', true),"
                            + " set_config('intervalstyle', 'postgres', true), set_config('bytea_output', 'hex', true),"
                            + " set_config('work_mem', '128MB', true), set_config('jit', 'off', true)",
                    inline(options.lockTimeout().toMillis() + "ms"));
            dsl.execute("set constraints all deferred");
            changeLog.roleThatMayNotRollBack().ifPresent(role -> {
                throw new EtlRollbackException(ErrorCode.FAILED, "role " + role + " may not roll back "
                        + migrationId + ": only the owner of etl-rollback and members of etl_rollback_admin may"
                        + " (GRANT etl_rollback_admin TO " + role + "). Nothing was changed.");
            });
            if (planSchema.isPresent()) {
                requireCreateOnPlanSchema(planSchema.get(), migrationId);
            }
            Optional<LoggedMigration> migration = changeLog.migration(migrationId);
            if (migration.isEmpty() && changeLog.isBeingWritten(migrationId)) {
                throw beingWritten(migrationId);
            }
            if (options.dryRun()) {
                dsl.execute("savepoint etl_rollback_dry_run");
            }
            RollbackResult result = rollback(migration.orElseThrow(() -> new EtlRollbackException(ErrorCode.FAILED,
                    "unknown migration id " + shown(migrationId)
                            + ": no changes were logged under it (etl_rollback.migrations lists the known ones)")),
                    options.onConflict(), true);
            if (options.dryRun()) {
                // what a cascade rolled back for the plan's sake; sequences, which no rollback undoes, stay
                dsl.execute("rollback to savepoint etl_rollback_dry_run");
            } else {
                new Sequences(dsl).keepAhead(refilled.values());
            }
            return result;
        }

        /**
         * Whether this rollback only plans. A dry run plans the migration it was asked for; the later migrations a
         * cascade must roll back first are rolled back for real, so that the plan shown is the one the rollback would
         * carry out, and then undone with the rest of the dry run.
         */
        private boolean dryRun(boolean top) {
            return options.dryRun() && top;
        }

        /**
         * Under {@code session_replication_role = replica} neither foreign keys nor the capture fire: the rollback
         * could leave rows pointing nowhere, and its own changes would go unlogged ({@code origin} and {@code local}
         * fire both). Sets it back to {@code origin} for the transaction, which only a superuser (or a role granted
         * SET on it) may.
         */
        private void requireTriggersFire(String migrationId) {
            String role = dsl.resultQuery("select current_setting('session_replication_role')")
                    .fetchSingle(0, String.class);
            if (!role.equals("replica")) {
                return;
            }
            try {
                dsl.execute("set local session_replication_role = origin");
            } catch (DataAccessException e) {
                throw new EtlRollbackException(ErrorCode.FAILED, "rollback of " + migrationId + " refused: the session"
                        + " has session_replication_role = " + role + ", under which neither foreign keys nor the"
                        + " capture of the rollback's own changes fire, and it may not set it back to origin ("
                        + e.getMessage() + "). Nothing was changed. Connect without that setting.", e);
            }
        }

        /** Plans kept in a schema, for a transaction to prepare, need CREATE on it. */
        private void requireCreateOnPlanSchema(String schema, String migrationId) {
            String role = dsl.select(field("quote_ident(current_user)", String.class))
                    .where(field("has_schema_privilege({0}, 'CREATE')", Boolean.class, val(schema)).isFalse())
                    .fetchOne(0, String.class);
            if (role != null) {
                throw new EtlRollbackException(ErrorCode.FAILED, "role " + role + " may not roll back " + migrationId
                        + " in a transaction to prepare: its plan is kept in the schema " + schema
                        + ", since PostgreSQL cannot prepare a transaction that used temporary tables (GRANT CREATE ON"
                        + " SCHEMA " + schema + " TO " + role + ", or use the owner of etl-rollback)."
                        + " Nothing was changed.");
            }
        }

        private RollbackResult rollback(LoggedMigration found, ConflictPolicy policy, boolean top) {
            if (!changeLog.tryLockAgainstRollback(found.mig())) {
                throw new EtlRollbackException(ErrorCode.FAILED, "another rollback of " + found.migrationId()
                        + ", or a cleanup of its log, is running; nothing was changed");
            }
            LoggedMigration migration = changeLog.lockMigration(found.mig());
            if (migration.isRolledBack()) {
                return result(migration, "", RollbackResult.Outcome.ALREADY_ROLLED_BACK, List.of(), null,
                        RollbackResult.Method.NONE, false);
            }
            if (changeLog.isBeingWritten(migration.migrationId())) {
                throw beingWritten(migration.migrationId());
            }
            long uptoSeq = migration.undoneAfterSeq().orElse(Long.MAX_VALUE);
            long fromSeq = 0;
            if (top && options.toCheckpoint().isPresent()) {
                String checkpoint = options.toCheckpoint().get();
                fromSeq = changeLog.checkpointSeq(migration.mig(), checkpoint).orElseThrow(() -> {
                    List<String> names = changeLog.checkpointNames(migration.mig());
                    return new EtlRollbackException(ErrorCode.FAILED, "migration " + migration.migrationId()
                            + " has no checkpoint named " + checkpoint + "; it has " + (names.isEmpty() ? "none"
                            : String.join(", ", names)) + ". Nothing was changed.");
                });
            }
            List<LoggedTable> tables = changeLog.tablesChangedBy(migration.mig());
            lock(tables);
            LogWindow window = new LogWindow(migration.mig(), fromSeq, uptoSeq);
            List<String> notLogged = new ArrayList<>(new UnloggedActions(dsl).warnings(migration.migrationId(), window,
                    tables));
            for (String table : changeLog.untrackedTablesChangedBy(migration.mig(), List.of())) {
                notLogged.add(table + " is no longer tracked: the rollback's changes to it are not logged, and undoing"
                        + " the rollback cannot restore them");
            }
            if (migration.rollbackOf().isPresent()) {
                // a rollback of a table untracked by then logged nothing there, and nothing there can be undone
                for (String table : changeLog.untrackedTablesChangedBy(migration.rollbackOf().get(), tables)) {
                    notLogged.add(table + " is not tracked and " + migration.migrationId() + " logged no change to it:"
                            + " the rows it restored there stay as they are");
                }
            }
            for (String warning : notLogged) {
                if (warnings.add(warning)) {
                    LOG.warn(warning);
                }
            }
            Planner planner = new Planner(dsl, planSchema);
            if (!dryRun(top) && !options.verify() && !(top && options.sqlFile().isPresent())) {
                Optional<RollbackResult> restored = restoreFromLog(migration, planner.parentsFirst(tables), window);
                if (restored.isPresent()) {
                    return restored.get();
                }
            }
            RollbackPlan plan = plan(planner, migration, tables, fromSeq, uptoSeq);

            if (plan.hasConflicts() && policy == ConflictPolicy.CASCADE) {
                inProgress.add(migration.mig());
                // a plan lists its first conflicts only: where it left some out, the migrations behind those show in
                // the plan made once the listed ones are rolled back
                List<LoggedMigration> dependents = dependents(plan);
                while (!dependents.isEmpty()) {
                    boolean listedAll = plan.conflicts().size() >= plan.conflictCount();
                    for (LoggedMigration dependent : dependents) {
                        // one rolled back meanwhile, in the cascade of another, is not rolled back twice
                        if (!handled.contains(dependent.migrationId())) {
                            rollback(dependent, ConflictPolicy.CASCADE, false);
                            cascaded.add(dependent.migrationId());
                        }
                    }
                    if (top && options.sqlFile().isPresent()) {
                        throw new EtlRollbackException(ErrorCode.FAILED, "rollback of " + migration.migrationId()
                                + " with --sql refused: the cascade rolls back " + String.join(", ", cascaded)
                                + " first, and a script holds the rollback of one migration. Roll those back first,"
                                + " or roll back without a script. Nothing was changed.");
                    }
                    plan = plan(planner, migration, tables, fromSeq, uptoSeq);
                    dependents = plan.hasConflicts() && !listedAll ? dependents(plan) : List.of();
                }
            }
            boolean restoreConflicts = policy == ConflictPolicy.FORCE;
            if (plan.hasConflicts() && (policy == ConflictPolicy.ABORT || policy == ConflictPolicy.CASCADE)) {
                if (top && options.sqlFile().isPresent()) {
                    warnings.add("no SQL script was written to " + options.sqlFile().get() + ": the rollback is"
                            + " refused for its conflicts");
                }
                RollbackResult refused = result(migration, "",
                        dryRun(top) ? RollbackResult.Outcome.DRY_RUN : RollbackResult.Outcome.REFUSED,
                        plan.tables().stream().map(t -> t.outcome(false)).toList(), plan, RollbackResult.Method.NONE,
                        false);
                if (dryRun(top)) {
                    return refused;
                }
                throw new ConflictException(refused);
            }

            // a skipped row leaves the window open for another attempt
            boolean undidAll = !(plan.hasConflicts() && policy == ConflictPolicy.SKIP);
            boolean partial = fromSeq > 0 || !undidAll;
            String rollbackId = rollbackId(migration);
            List<TableRollback> counts = plan.tables().stream().map(t -> t.outcome(restoreConflicts)).toList();
            List<LoggedTable> refilledByPlan = plan.tables().stream()
                    .filter(t -> t.outcome(restoreConflicts).inserted() > 0).map(TablePlan::table).toList();
            if (top && options.sqlFile().isPresent()) {
                ApplicationTriggers triggers = new ApplicationTriggers(dsl, tables);
                triggers.disable();
                String order = new Executor(dsl, connection).workingOrder(plan, restoreConflicts)
                        .orElse(Executor.ORDERS.get(0));
                triggers.restore();
                new ScriptWriter(dsl).write(options.sqlFile().get(), plan, order, restoreConflicts, rollbackId,
                        undidAll, triggers.disabling().stream().map(dsl::render).toList(),
                        triggers.restoring().stream().map(dsl::render).toList(),
                        new Sequences(dsl).keepingAhead(refilledByPlan).stream().map(dsl::renderInlined).toList(),
                        List.copyOf(warnings));
            }
            if (dryRun(top)) {
                return result(migration, "", RollbackResult.Outcome.DRY_RUN, counts, plan, RollbackResult.Method.NONE,
                        false);
            }

            LOG.info("Rolling back {} as {}: {} row(s) in {} table(s)", migration.migrationId(), rollbackId,
                    plan.rows(restoreConflicts), plan.tables().size());
            startRollbackMigration(rollbackId, migration);
            handled.add(migration.migrationId());
            handled.add(rollbackId);
            ApplicationTriggers triggers = new ApplicationTriggers(dsl, tables);
            triggers.disable();
            boolean replayed = new Executor(dsl, connection).execute(plan, restoreConflicts, options.progress());
            triggers.restore();
            refilledByPlan.forEach(t -> refilled.put(t.relid(), t));
            if (options.verify()) {
                new Verifier(dsl).verify(plan, restoreConflicts);
            }
            finish(rollbackId, fromSeq, uptoSeq, undidAll);
            return result(migration, rollbackId, partial ? RollbackResult.Outcome.PARTIALLY_ROLLED_BACK
                    : RollbackResult.Outcome.ROLLED_BACK, counts, plan,
                    replayed ? RollbackResult.Method.REPLAYED : RollbackResult.Method.PLANNED, options.verify());
        }

        /**
         * Restores the migration's rows straight from its log where each was changed once (see {@link LogRestore});
         * empty, with nothing changed, where a plan is needed: a row changed twice or since, or constraints that
         * want another order.
         */
        private Optional<RollbackResult> restoreFromLog(LoggedMigration migration, List<LoggedTable> parentsFirst,
                                                        LogWindow window) {
            LogRestore restore = new LogRestore(dsl);
            Optional<List<LogRestore.TableChanges>> changes = restore.changes(parentsFirst, window);
            if (changes.isEmpty()) {
                return Optional.empty();
            }
            String rollbackId = rollbackId(migration);
            LOG.info("Rolling back {} as {} from its log: {} row(s) in {} table(s)", migration.migrationId(),
                    rollbackId, changes.get().stream().mapToLong(t -> t.outcome().rowsRestored()).sum(),
                    parentsFirst.size());
            dsl.execute("savepoint etl_rollback_from_log");
            startRollbackMigration(rollbackId, migration);
            ApplicationTriggers triggers = new ApplicationTriggers(dsl, parentsFirst);
            triggers.disable();
            if (!restore.restore(changes.get(), options.progress())) {
                dsl.execute("rollback to savepoint etl_rollback_from_log");
                LOG.info("Rollback of {}: a row changed since, or constraints that want another order; planning",
                        migration.migrationId());
                return Optional.empty();
            }
            triggers.restore();
            dsl.execute("release savepoint etl_rollback_from_log");
            changes.get().stream().filter(t -> t.inserts() > 0)
                    .forEach(t -> refilled.put(t.sql().table().relid(), t.sql().table()));
            handled.add(migration.migrationId());
            handled.add(rollbackId);
            boolean partial = window.fromSeq() > 0;
            finish(rollbackId, window.fromSeq(), window.uptoSeq(), true);
            return Optional.of(result(migration, rollbackId, partial ? RollbackResult.Outcome.PARTIALLY_ROLLED_BACK
                            : RollbackResult.Outcome.ROLLED_BACK,
                    changes.get().stream().map(LogRestore.TableChanges::outcome).toList(), null,
                    RollbackResult.Method.FROM_LOG, false));
        }

        private RollbackPlan plan(Planner planner, LoggedMigration migration, List<LoggedTable> tables, long fromSeq,
                                  long uptoSeq) {
            RollbackPlan plan = planner.plan(migration, tables, fromSeq, uptoSeq);
            plan.tables().forEach(t -> planTables.add(t.planTable()));
            return plan;
        }

        private static EtlRollbackException beingWritten(String migrationId) {
            return new EtlRollbackException(ErrorCode.FAILED, "migration " + migrationId
                    + " is still being written by an open transaction; roll it back after that transaction ends."
                    + " Nothing was changed.");
        }

        /**
         * Locks the tables against writes, in rounds that never keep a table while waiting long for another. Each
         * round waits, queued so that new writers queue behind it, for one table, then briefly for each other one.
         * A table not granted in that time gives the round's locks back up, so that a writer holding it and
         * waiting for one of them can go on, and is the table waited for first in the next round, whose brief waits
         * are longer. A rollback that waited on every table in turn while holding the previous ones would deadlock
         * with a writer that writes them in another order, and, waiting first, be the one PostgreSQL ends, again
         * and again under a steady stream of such writers. All rounds together wait at most the lock timeout.
         */
        private void lock(List<LoggedTable> tables) {
            List<LoggedTable> ordered = tables.stream().sorted(Comparator.comparing(LoggedTable::qualifiedName))
                    .toList();
            if (ordered.isEmpty()) {
                return;
            }
            long deadline = System.nanoTime() + options.lockTimeout().toNanos();
            long briefly = FIRST_BRIEF_WAIT_MS;
            LoggedTable awaited = ordered.get(0);
            while (true) {
                dsl.execute("savepoint etl_rollback_lock");
                LoggedTable waitingFor = awaited;
                try {
                    lockTable(awaited, millisUntil(deadline));
                    for (LoggedTable table : ordered) {
                        if (!table.equals(awaited)) {
                            waitingFor = table;
                            lockTable(table, Math.min(briefly, millisUntil(deadline)));
                        }
                    }
                    dsl.execute("release savepoint etl_rollback_lock");
                    dsl.execute("set local lock_timeout = {0}", inline(options.lockTimeout().toMillis() + "ms"));
                    return;
                } catch (DataAccessException e) {
                    dsl.execute("rollback to savepoint etl_rollback_lock");
                    boolean timedOut = "55P03".equals(e.sqlState());
                    boolean deadlocked = "40P01".equals(e.sqlState());
                    if (!timedOut && !deadlocked) {
                        throw e;
                    }
                    if (deadlocked && waitingFor.equals(awaited)) {
                        // no table of this round is held, but others may be: the tables of the migration a cascade
                        // started from, and the migration's own locks, which a session writing under its id awaits
                        throw new EtlRollbackException(ErrorCode.FAILED, "could not lock table "
                                + awaited.qualifiedName() + ": a deadlock with another session, whose transaction"
                                + " writes it and waits for a lock this rollback holds; PostgreSQL ended the"
                                + " rollback. Nothing was changed; roll back again.", e);
                    }
                    if (waitingFor.equals(awaited) || System.nanoTime() >= deadline) {
                        throw new EtlRollbackException(ErrorCode.FAILED, "could not lock table "
                                + waitingFor.qualifiedName() + " within " + format(options.lockTimeout())
                                + ": another session holds a lock on it. Nothing was changed.", e);
                    }
                    awaited = waitingFor;
                    briefly = Math.min(2 * briefly, LONGEST_BRIEF_WAIT_MS);
                }
            }
        }

        private void lockTable(LoggedTable table, long timeoutMillis) {
            dsl.execute("set local lock_timeout = {0}", inline(timeoutMillis + "ms"));
            dsl.execute("lock table {0} in share row exclusive mode", name(table.schema(), table.name()));
        }

        private static long millisUntil(long deadline) {
            return Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
        }

        /**
         * The later migrations that changed the plan's conflicting rows, newest first. Those this run has already
         * rolled back, logged or tried are left out: undoing a rollback puts its migration back in force, and without
         * that a cascade over rollbacks of rollbacks would roll them back and forth without end.
         */
        private List<LoggedMigration> dependents(RollbackPlan plan) {
            Set<String> ids = new LinkedHashSet<>();
            plan.conflicts().forEach(c -> ids.addAll(c.laterMigrations()));
            List<LoggedMigration> dependents = new ArrayList<>();
            for (String id : ids) {
                changeLog.migration(id)
                        .filter(m -> !inProgress.contains(m.mig()) && !handled.contains(id) && !cascaded.contains(id)
                                && !m.isRolledBack())
                        .ifPresent(dependents::add);
            }
            dependents.sort(Comparator.comparingInt(LoggedMigration::mig).reversed());
            return dependents;
        }

        /** {@code rollback:X}, or {@code rollback:X#2} and so on once X has been rolled back before. */
        private String rollbackId(LoggedMigration migration) {
            for (int n = 1; ; n++) {
                String id = Reverser.rollbackId(migration.migrationId(), migration.mig(), n);
                if (changeLog.migration(id).isEmpty()) {
                    return id;
                }
            }
        }

        private void startRollbackMigration(String rollbackId, LoggedMigration migration) {
            dsl.select(field("etl_rollback._start_rollback({0}, {1})", Object.class, val(rollbackId),
                    val(migration.migrationId()))).fetch();
            dsl.select(field("set_config('etl_rollback.migration_id', {0}, true)", String.class, val(rollbackId)))
                    .fetch();
        }

        /**
         * Records that the rollback undid its migration's changes in the window {@code (fromSeq, uptoSeq]}, all of
         * them or not; the migration's status and window follow, and where the migration is itself a rollback, the
         * migration it undid (see {@code R__status.sql}).
         */
        private void finish(String rollbackId, long fromSeq, long uptoSeq, boolean undidAll) {
            dsl.select(field("etl_rollback._rolled_back({0}, {1}, {2}, {3})", Object.class, val(rollbackId),
                    val(fromSeq), val(uptoSeq == Long.MAX_VALUE ? null : uptoSeq, Long.class), val(undidAll)))
                    .fetch();
        }

        private RollbackResult result(LoggedMigration migration, String rollbackId, RollbackResult.Outcome outcome,
                                      List<TableRollback> tables, RollbackPlan plan,
                                      RollbackResult.Method method, boolean verified) {
            return new RollbackResult(migration.migrationId(), rollbackId, outcome, tables,
                    plan == null ? List.of() : plan.conflicts(), plan == null ? 0 : plan.conflictCount(),
                    cascaded, method, verified, List.copyOf(warnings), Duration.ofNanos(System.nanoTime() - started));
        }

        private static String format(Duration d) {
            return d.toMillis() % 1000 == 0 ? d.toSeconds() + "s" : d.toMillis() + "ms";
        }
    }
}
