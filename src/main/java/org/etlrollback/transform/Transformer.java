package org.etlrollback.transform;

import static org.etlrollback.internal.schema.Tables.MIGRATION;
import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.val;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import javax.sql.DataSource;

import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollback;
import org.etlrollback.EtlRollbackException;
import org.etlrollback.Reverser;
import org.etlrollback.RollbackResult;
import org.etlrollback.internal.database.Database;
import org.etlrollback.transform.MigrationFailure.AutoRollback;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.jooq.exception.DataAccessException;
import org.jooq.impl.DSL;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A data migration whose changes can be rolled back: declare the tables it writes, write the ETL in
 * {@link #run(Connection)}, and start it with {@link #safeRun()}.
 *
 * <pre>{@code
 * public final class PatientTransformer extends Transformer {
 *     public PatientTransformer(DataSource dataSource) {
 *         super(dataSource);
 *     }
 *
 *     protected List<String> affectedTables() {
 *         return List.of("clinic.patients", "clinic.medical_records");
 *     }
 *
 *     protected void run(Connection connection) throws SQLException {
 *         try (Statement s = connection.createStatement()) {
 *             s.executeUpdate("insert into clinic.patients select ... from legacy.patients");
 *         }
 *     }
 * }
 *
 * new PatientTransformer(dataSource).safeRun();   // on failure: rolled back, then MigrationFailedException
 * }</pre>
 *
 * <p>{@link #safeRun()} checks that the affected tables are tracked, takes a connection from the data source, tags
 * its session with the {@linkplain #migrationId() migration id} (and the transformer's {@linkplain #name() name}),
 * and calls {@code run} with it: every change {@code run} makes to a tracked table through that connection is logged
 * under the migration id. When {@code run} throws, the migration is rolled back (unless automatic rollback is off)
 * and a {@link MigrationFailedException} carrying the original exception and the rollback's outcome is thrown.
 *
 * <p>One instance is one migration: it runs once. The default migration id is the class's simple name and the
 * time of construction in epoch seconds, e.g. {@code PatientTransformer_1640995200} (the next free second for a second
 * instance made within the same second); pass one to the constructor to choose it. Rolling back needs a data source whose user is the owner of etl-rollback or a member of
 * {@code etl_rollback_admin}; running needs none of that. How rollbacks run (verification, conflicts, lock timeout,
 * automatic or not) comes from the {@link RollbackConfig}.
 */
public abstract class Transformer {
    /** The second of the latest default migration id given out, by simple class name. */
    private static final Map<String, Long> LAST_DEFAULT_SECOND = new ConcurrentHashMap<>();

    private final DataSource dataSource;
    private final RollbackConfig config;
    private final String migrationId;
    /** Whether the migration id is a default one rather than given. */
    private final boolean defaultId;
    private final Logger log = LoggerFactory.getLogger(getClass());
    private final List<MigrationListener> listeners = new CopyOnWriteArrayList<>();
    private final AtomicBoolean ran = new AtomicBoolean();
    /** The tagged connection while {@code run} executes. */
    private volatile Connection running;

    /** A transformer with the configuration of {@link RollbackConfig#load()} and a default migration id. */
    protected Transformer(DataSource dataSource) {
        this(dataSource, RollbackConfig.load());
    }

    /** A transformer with the given configuration and a default migration id. */
    protected Transformer(DataSource dataSource, RollbackConfig config) {
        this(dataSource, config, null);
    }

    /**
     * A transformer with the given configuration and migration id.
     *
     * @param migrationId the id to log the changes under (1 to 200 characters, no control characters); null for
     *                    the default, e.g. {@code PatientTransformer_1640995200}
     */
    protected Transformer(DataSource dataSource, RollbackConfig config, String migrationId) {
        this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
        this.config = Objects.requireNonNull(config, "config");
        this.defaultId = migrationId == null;
        this.migrationId = defaultId ? newDefaultMigrationId(getClass(), Instant.now()) : migrationId;
        if (this.migrationId.isEmpty() || this.migrationId.length() > 200
                || this.migrationId.chars().anyMatch(Character::isISOControl)) {
            throw new EtlRollbackException(ErrorCode.USAGE, "migration id '" + this.migrationId.replaceAll(
                    "\\p{Cntrl}", "?") + "' is not valid: use 1 to 200 characters without control characters");
        }
    }

    /**
     * The tables this transformer writes, as in SQL, e.g. {@code clinic.patients}. They must be tracked (or
     * {@link RollbackConfig#trackTables()} on), else {@link #safeRun()} refuses to start: their changes could not be
     * rolled back.
     */
    protected abstract List<String> affectedTables();

    /**
     * The migration itself. {@code connection} is tagged with the migration id, in autocommit mode unless the data
     * source says otherwise; write through it (or through connections passed to {@link #tag(Connection)}). If it is
     * not in autocommit mode when this returns, {@link #safeRun()} commits it; when this throws, it rolls the open
     * transaction back before rolling back what was committed. Do not close it.
     *
     * @throws Exception anything: {@link #safeRun()} rolls back and rethrows it as the cause of a
     *                   {@link MigrationFailedException}
     */
    protected abstract void run(Connection connection) throws Exception;

    /** The transformer's name, logged as the migration's name: the class's simple name unless overridden. */
    public String name() {
        return simpleName(getClass());
    }

    /** The migration id this transformer's changes are logged under. */
    public final String migrationId() {
        return migrationId;
    }

    public final RollbackConfig config() {
        return config;
    }

    /** Adds a listener; listeners are called in the order they were added. */
    public final Transformer addListener(MigrationListener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
        return this;
    }

    /**
     * Runs the migration, rolling it back automatically on failure when the configuration says so
     * ({@link RollbackConfig#autoRollback()}, on by default).
     *
     * @see #safeRun(boolean)
     */
    public final MigrationRun safeRun() {
        return safeRun(config.autoRollback());
    }

    /**
     * Runs the migration: checks the affected tables, tags a connection, calls {@link #run(Connection)}, and tells
     * the listeners.
     *
     * @param autoRollback whether to roll the migration back when {@code run} fails; false leaves its changes in
     *                     place (and logged: {@link #rollbackMigration()} can still undo them)
     * @return the completed run
     * @throws MigrationFailedException when {@code run} failed: its cause is the original exception; it says what the
     *                                  automatic rollback did
     * @throws EtlRollbackException     before anything ran: an affected table does not exist or is not tracked, none
     *                                  is declared, or this transformer has run already
     */
    public final MigrationRun safeRun(boolean autoRollback) {
        if (!ran.compareAndSet(false, true)) {
            throw new EtlRollbackException(ErrorCode.USAGE, name() + " has run already as migration " + migrationId
                    + "; a transformer runs once: create a new one for a new run");
        }
        if (config.enabled()) {
            try {
                prepareTables();
            } catch (RuntimeException e) {
                // nothing ran: once the tables are fixed, this transformer may start again
                ran.set(false);
                throw e;
            }
        } else {
            log.warn("[{}] Rollback is disabled by configuration (enabled = false): this run is not logged and cannot"
                    + " be rolled back", migrationId);
        }
        Instant startedAt = Instant.now();
        long started = System.nanoTime();
        MigrationRun starting = new MigrationRun(name(), migrationId, startedAt, Duration.ZERO);
        log.info("[{}] {} started", migrationId, name());
        notifyListeners("started", l -> l.started(starting));

        Exception error = null;
        try {
            runTagged();
        } catch (Exception e) {
            error = e;
        }
        Duration duration = Duration.ofNanos(System.nanoTime() - started);
        if (error == null) {
            MigrationRun completed = new MigrationRun(name(), migrationId, startedAt, duration);
            log.info("[{}] {} completed in {}", migrationId, name(), TimedRollback.format(duration));
            notifyListeners("completed", l -> l.completed(completed));
            return completed;
        }

        log.error("[{}] {} failed after {}: {}", migrationId, name(), TimedRollback.format(duration),
                Database.redact(error.toString()));
        AutoRollback outcome;
        RollbackResult result = null;
        RuntimeException rollbackFailure = null;
        if (!config.enabled()) {
            outcome = AutoRollback.NOT_LOGGED;
        } else if (!autoRollback) {
            outcome = AutoRollback.DISABLED;
        } else {
            try {
                Optional<RollbackResult> rolledBack = isLogged() ? Optional.of(rollbackMigration()) : Optional.empty();
                outcome = rolledBack.isPresent() ? AutoRollback.ROLLED_BACK : AutoRollback.NOTHING_TO_ROLL_BACK;
                result = rolledBack.orElse(null);
            } catch (RuntimeException e) {
                outcome = AutoRollback.FAILED;
                rollbackFailure = e;
                log.error("[{}] Automatic rollback failed; the migration's changes are in place: {}", migrationId,
                        Database.redact(e.getMessage()));
            }
        }
        MigrationFailure failure = new MigrationFailure(name(), migrationId, startedAt, duration, error, outcome,
                Optional.ofNullable(result), Optional.ofNullable(rollbackFailure));
        notifyListeners("failed", l -> l.failed(failure));
        if (error instanceof InterruptedException) {
            Thread.currentThread().interrupt();
        }
        throw new MigrationFailedException(failure);
    }

    /**
     * Rolls back everything this migration changed, with the configuration's options (verification, conflict
     * policy, lock timeout), and tells the listeners. Also after {@code safeRun} returned, e.g. when a check of the
     * loaded data fails. A rollback slower than {@link RollbackConfig#slowRollbackWarning()} is logged as a warning.
     *
     * @return what the rollback did; {@link RollbackResult.Outcome#ALREADY_ROLLED_BACK} when there was nothing left
     * @throws EtlRollbackException when the rollback is refused ({@link org.etlrollback.ConflictException} for
     *                              conflicts) or fails; nothing was changed then. Also when rollback is disabled by
     *                              configuration ({@link ErrorCode#USAGE}).
     */
    public final RollbackResult rollbackMigration() {
        requireEnabled("rollbackMigration()");
        RollbackResult result = TimedRollback.run(Reverser.using(dataSource), migrationId, config.rollbackOptions(),
                config.slowRollbackWarning(), log);
        notifyListeners("rolledBack", l -> l.rolledBack(name(), result));
        return result;
    }

    /**
     * Marks the current point of the running migration. Call it from {@link #run(Connection)}; it is written
     * through the run's connection, in its current transaction.
     *
     * @param name unique within the migration; 1 to 200 characters
     * @throws EtlRollbackException when called outside {@code run}, when the name is taken or invalid, or when
     *                              rollback is disabled by configuration
     */
    protected final Checkpoint createCheckpoint(String name) {
        Objects.requireNonNull(name, "name");
        requireEnabled("createCheckpoint(...)");
        Connection connection = running;
        if (connection == null) {
            throw new EtlRollbackException(ErrorCode.USAGE, "createCheckpoint(\"" + name + "\") marks a point of the"
                    + " running migration: call it from run()");
        }
        try {
            DSL.using(connection, SQLDialect.POSTGRES)
                    .select(field("etl_rollback.checkpoint({0})", Long.class, val(name))).fetchSingle();
        } catch (DataAccessException e) {
            throw new EtlRollbackException(ErrorCode.FAILED, "checkpoint " + name + " of migration " + migrationId
                    + " was not set: " + rootMessage(e), e);
        }
        log.info("[{}] Checkpoint {}", migrationId, name);
        return new Checkpoint(migrationId, name);
    }

    /**
     * Rolls back only what this migration changed after the checkpoint, and tells the listeners. The migration is
     * then partly rolled back: it cannot log new changes, so {@code run} should end (returning, to keep what came
     * before the checkpoint; throwing lets {@code safeRun} roll back the rest too). Called from {@code run}, the
     * run's connection must not hold an open transaction with changes under the migration.
     *
     * @throws EtlRollbackException when the checkpoint is of another migration, or as {@link #rollbackMigration()}
     */
    public final RollbackResult rollbackToCheckpoint(Checkpoint checkpoint) {
        Objects.requireNonNull(checkpoint, "checkpoint");
        requireEnabled("rollbackToCheckpoint(...)");
        if (!checkpoint.migrationId().equals(migrationId)) {
            throw new EtlRollbackException(ErrorCode.USAGE, "checkpoint " + checkpoint.name() + " belongs to migration "
                    + checkpoint.migrationId() + ", not to " + migrationId);
        }
        RollbackResult result = TimedRollback.run(Reverser.using(dataSource), migrationId,
                config.rollbackOptions().withToCheckpoint(checkpoint.name()), config.slowRollbackWarning(), log);
        notifyListeners("rolledBack", l -> l.rolledBack(name(), result));
        return result;
    }

    /**
     * Tags another connection's session with this migration's id and name, e.g. one to a second database that
     * {@code run} also writes; {@link #untag(Connection)} it before it goes back to its pool. The changes made through
     * it are logged in that connection's database, under this migration's id.
     */
    protected final void tag(Connection connection) throws SQLException {
        setTags(connection, migrationId, name());
    }

    /** Ends the tagging of a connection's session that {@link #tag(Connection)} started. */
    protected final void untag(Connection connection) throws SQLException {
        setTags(connection, "", "");
        if (inTransaction(connection)) {
            // a setting made in a transaction is undone if the transaction is
            connection.commit();
        }
    }

    private static void setTags(Connection connection, String id, String name) throws SQLException {
        try {
            DSL.using(connection, SQLDialect.POSTGRES).select(
                    field("set_config('etl_rollback.migration_id', {0}, false)", String.class, val(id)),
                    field("set_config('etl_rollback.migration_name', {0}, false)", String.class, val(name)))
                    .fetch();
        } catch (DataAccessException e) {
            SQLException cause = e.getCause(SQLException.class);
            throw cause == null ? new SQLException(e.getMessage(), e) : cause;
        }
    }

    /** Logs at INFO, prefixed with the migration id; {@code message} is an SLF4J pattern for {@code args}. */
    protected final void logInfo(String message, Object... args) {
        if (log.isInfoEnabled()) {
            log.info("[{}] " + message, withId(args));
        }
    }

    /** Logs at WARN, prefixed with the migration id; {@code message} is an SLF4J pattern for {@code args}. */
    protected final void logWarning(String message, Object... args) {
        if (log.isWarnEnabled()) {
            log.warn("[{}] " + message, withId(args));
        }
    }

    /** Logs at ERROR, prefixed with the migration id; {@code message} is an SLF4J pattern for {@code args}. */
    protected final void logError(String message, Object... args) {
        if (log.isErrorEnabled()) {
            log.error("[{}] " + message, withId(args));
        }
    }

    /** {@code PatientTransformer_1640995200}: the class's simple name, an underscore, epoch seconds. */
    static String defaultMigrationId(Class<?> type, Instant at) {
        return simpleName(type) + "_" + at.getEpochSecond();
    }

    /**
     * A default migration id no other transformer of this process has: the time of construction, or the first later
     * second that no other transformer of the same simple name took. Two transformers made within one second would
     * otherwise log their changes under one id, and rolling back either would undo both.
     */
    static String newDefaultMigrationId(Class<?> type, Instant at) {
        long second = LAST_DEFAULT_SECOND.merge(simpleName(type), at.getEpochSecond(),
                (last, now) -> Math.max(last + 1, now));
        return defaultMigrationId(type, Instant.ofEpochSecond(second));
    }

    private static String simpleName(Class<?> type) {
        String simple = type.getSimpleName();
        if (!simple.isEmpty()) {
            return simple;
        }
        String name = type.getName();
        return name.substring(name.lastIndexOf('.') + 1);
    }

    /** Checks the declared tables before anything runs; tracks the untracked ones when configured to. */
    private void prepareTables() {
        List<String> declared = affectedTables();
        if (declared == null || declared.isEmpty()) {
            throw new EtlRollbackException(ErrorCode.USAGE, name() + " declares no affected tables: list the tables"
                    + " it writes in affectedTables(), so that their changes are logged and can be rolled back."
                    + " Nothing was run.");
        }
        AffectedTables tables;
        try (Connection connection = dataSource.getConnection()) {
            DSLContext dsl = DSL.using(connection, SQLDialect.POSTGRES);
            tables = AffectedTables.inspect(dsl, declared);
            checkMigrationId(dsl);
        } catch (SQLException | DataAccessException e) {
            throw new EtlRollbackException(ErrorCode.FAILED, name() + " could not check its affected tables: "
                    + Database.redact(rootMessage(e)) + ". Nothing was run.", e);
        }
        if (!tables.missing().isEmpty()) {
            throw new EtlRollbackException(ErrorCode.FAILED, name() + " declares affected tables that do not exist: "
                    + String.join(", ", tables.missing()) + ". Nothing was run.");
        }
        if (!tables.untracked().isEmpty()) {
            if (!config.trackTables()) {
                throw new EtlRollbackException(ErrorCode.FAILED, name() + " writes tables that are not tracked: "
                        + String.join(", ", tables.untracked()) + "; their changes would not be logged and could not"
                        + " be rolled back. Track them (select etl_rollback.track('" + tables.untracked().get(0)
                        + "'), or etl-rollback track), or set track-tables = true. Nothing was run.");
            }
            log.info("[{}] Tracking {}", migrationId, String.join(", ", tables.untracked()));
            EtlRollback.configure().dataSource(dataSource).load().track(tables.untracked().toArray(String[]::new));
        }
        for (Map.Entry<String, Set<String>> e : tables.untrackedReferenced().entrySet()) {
            log.warn("[{}] {} references {} by foreign key, and {} not tracked: should this migration write {}, those"
                            + " changes are not logged and a rollback cannot undo them", migrationId, e.getKey(),
                    String.join(", ", e.getValue()), e.getValue().size() == 1 ? "it is" : "they are",
                    e.getValue().size() == 1 ? "it" : "them");
        }
        for (Map.Entry<String, Set<String>> e : tables.untrackedCascading().entrySet()) {
            log.warn("[{}] {} {} foreign keys to {} that cascade, and {} not tracked: rows a change of {} cascades to"
                            + " are not logged and a rollback cannot restore them", migrationId,
                    String.join(", ", e.getValue()), e.getValue().size() == 1 ? "has" : "have", e.getKey(),
                    e.getValue().size() == 1 ? "is" : "are", e.getKey());
        }
    }

    /**
     * Refuses a migration id that was rolled back (its log takes no new changes), and warns when it has logged
     * changes already: this run's changes join them.
     */
    private void checkMigrationId(DSLContext dsl) {
        if (!mayReadLog(dsl)) {
            return;
        }
        String status = dsl.select(MIGRATION.STATUS).from(MIGRATION).where(MIGRATION.MIGRATION_ID.eq(migrationId))
                .fetchOne(MIGRATION.STATUS);
        if (status == null) {
            return;
        }
        if (!status.equals("active")) {
            throw new EtlRollbackException(ErrorCode.FAILED, "migration " + migrationId + " has been rolled back ("
                    + status + "), so its log takes no new changes: give " + name() + " a new migration id."
                    + " Nothing was run.");
        }
        if (defaultId) {
            throw new EtlRollbackException(ErrorCode.FAILED, "the log already holds changes under " + migrationId
                    + ", the default migration id of " + name() + ": another run of " + name() + " made in the same"
                    + " second, whose changes a rollback of this run would undo too. Create a new " + name()
                    + " (a later second), or pass a migration id to join that run on purpose. Nothing was run.");
        }
        log.warn("[{}] The log already holds changes under this migration id; this run's changes join them, and a"
                + " rollback undoes both. Pass a new migration id to keep runs apart.", migrationId);
    }

    /** Whether the migration id has any logged change or checkpoint. */
    private boolean isLogged() {
        try (Connection connection = dataSource.getConnection()) {
            DSLContext dsl = DSL.using(connection, SQLDialect.POSTGRES);
            // without the right to read the log, let the rollback say what is missing
            return !mayReadLog(dsl) || dsl.fetchExists(MIGRATION, MIGRATION.MIGRATION_ID.eq(migrationId));
        } catch (SQLException e) {
            throw new EtlRollbackException(ErrorCode.FAILED, "cannot connect to check the log of " + migrationId
                    + ": " + Database.redact(e.getMessage()), e);
        }
    }

    private static boolean mayReadLog(DSLContext dsl) {
        return Boolean.TRUE.equals(dsl.fetchValue(
                "select has_table_privilege(to_regclass('etl_rollback.migration'), 'SELECT')"));
    }

    /** Runs {@code run} on a tagged connection, and leaves the connection as it found it. */
    private void runTagged() throws Exception {
        Connection connection = dataSource.getConnection();
        try {
            if (config.enabled()) {
                tag(connection);
            }
            running = connection;
            run(connection);
            if (inTransaction(connection)) {
                connection.commit();
            }
        } catch (Exception e) {
            // what run left uncommitted goes first: a rollback of the migration waits for no open transaction
            if (inTransaction(connection)) {
                try {
                    connection.rollback();
                } catch (SQLException rollbackError) {
                    e.addSuppressed(rollbackError);
                }
            }
            throw e;
        } finally {
            running = null;
            release(connection);
        }
    }

    /** Untags the session and closes the connection; one that cannot be untagged is aborted, not pooled. */
    private void release(Connection connection) {
        try {
            if (config.enabled()) {
                untag(connection);
            }
            connection.close();
        } catch (SQLException | RuntimeException e) {
            log.warn("[{}] Could not untag the session of the run; closing its connection for good: {}", migrationId,
                    Database.redact(e.getMessage()));
            try {
                connection.abort(Runnable::run);
            } catch (SQLException | RuntimeException abortError) {
                log.warn("[{}] Could not abort the connection of the run: {}", migrationId,
                        Database.redact(abortError.getMessage()));
            }
        }
    }

    private static boolean inTransaction(Connection connection) {
        try {
            return !connection.getAutoCommit();
        } catch (SQLException e) {
            return false;
        }
    }

    private void requireEnabled(String method) {
        if (!config.enabled()) {
            throw new EtlRollbackException(ErrorCode.USAGE, method + ": rollback is disabled by configuration"
                    + " (enabled = false), so migration " + migrationId + " is not logged");
        }
    }

    private void notifyListeners(String event, Consumer<MigrationListener> call) {
        for (MigrationListener listener : listeners) {
            try {
                call.accept(listener);
            } catch (RuntimeException e) {
                log.warn("[{}] Listener {} failed on {}: {}", migrationId, listener.getClass().getName(), event,
                        e.toString());
            }
        }
    }

    private Object[] withId(Object[] args) {
        Object[] all = new Object[args == null ? 1 : args.length + 1];
        all[0] = migrationId;
        if (args != null) {
            System.arraycopy(args, 0, all, 1, args.length);
        }
        return all;
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = root.getMessage() == null ? root.toString() : root.getMessage();
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }
}
