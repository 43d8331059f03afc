package org.etlrollback;

import static org.jooq.impl.DSL.inline;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Collectors;
import javax.sql.DataSource;

import org.etlrollback.CrossDatabaseResult.DatabaseRollback;
import org.etlrollback.CrossDatabaseResult.Mode;
import org.etlrollback.CrossDatabaseResult.State;
import org.etlrollback.internal.database.Database;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rolls back one migration id in several databases as one unit: for a migration whose sessions were tagged with the
 * same id in each database.
 *
 * <pre>{@code
 * CrossDatabaseResult result = CrossDatabaseRollback.configure()
 *         .database("clinic", clinicDataSource)
 *         .database("billing", billingDataSource)
 *         .load()
 *         .rollback("PatientTransformer_1640995200");
 * }</pre>
 *
 * <p>When every server allows prepared transactions ({@code max_prepared_transactions > 0}), the rollbacks are
 * committed with PostgreSQL's two-phase commit: each database carries out its rollback and prepares it
 * ({@code PREPARE TRANSACTION}); only when all are prepared are they committed. A failure before that point, in any
 * database, leaves every database unchanged. Otherwise the rollback is refused, unless the {@link Strategy} allows
 * committing database by database; a failure then stops the rollback, and the result says exactly which databases
 * committed.
 *
 * <p>Each data source's user needs the rights of a rollback and, for two-phase commit, CREATE on the schema
 * {@code etl_rollback} (PostgreSQL cannot prepare a transaction that used temporary tables, so the plan is kept
 * there). Instances are immutable and hold no connection.
 */
public final class CrossDatabaseRollback {
    private static final Logger LOG = LoggerFactory.getLogger(CrossDatabaseRollback.class);

    private final Map<String, DataSource> databases;
    private final Strategy strategy;

    private CrossDatabaseRollback(Map<String, DataSource> databases, Strategy strategy) {
        this.databases = databases;
        this.strategy = strategy;
    }

    /** How the databases' rollbacks are committed. */
    public enum Strategy {
        /** Two-phase commit; refused when a server does not allow prepared transactions. The default. */
        TWO_PHASE,
        /** Two-phase commit when every server allows prepared transactions, else one database after the other. */
        TWO_PHASE_OR_ONE_BY_ONE,
        /**
         * One database after the other, each committing its own rollback: a failure leaves the databases before it
         * rolled back and the others not. For roles without CREATE on the schema {@code etl_rollback}, which a
         * two-phase rollback needs.
         */
        ONE_BY_ONE
    }

    /** Starts a configuration; finish it with {@link Configuration#load()}. */
    public static Configuration configure() {
        return new Configuration();
    }

    /** Rolls back the migration in every database with the default options. */
    public CrossDatabaseResult rollback(String migrationId) {
        return rollback(migrationId, RollbackOptions.defaults());
    }

    /**
     * Rolls back the migration in every database, with the same options in each.
     *
     * @return what was done in each database; every one is {@link State#COMMITTED} (or, for a dry run,
     *         {@link State#NOT_COMMITTED})
     * @throws CrossDatabaseRollbackException when the rollback did not complete everywhere; its result says where
     *                                        it stands in each database. Its error code is {@link ErrorCode#CONFLICT}
     *                                        when a database refused because of conflicts.
     * @throws EtlRollbackException           when a server does not allow prepared transactions and the strategy is
     *                                        {@link Strategy#TWO_PHASE} (nothing was changed)
     */
    public CrossDatabaseResult rollback(String migrationId, RollbackOptions options) {
        Objects.requireNonNull(migrationId, "migrationId");
        Objects.requireNonNull(options, "options");
        if (options.sqlFile().isPresent()) {
            throw new EtlRollbackException(ErrorCode.USAGE, "a rollback across databases cannot write one SQL "
                    + "script for all of them: write each database's script with Reverser and --sql separately");
        }
        List<Participant> participants = databases.entrySet().stream()
                .map(e -> new Participant(e.getKey(), e.getValue())).toList();
        if (strategy == Strategy.ONE_BY_ONE) {
            return oneByOne(migrationId, options, participants);
        }
        List<String> cannotPrepare = new ArrayList<>();
        for (Participant p : participants) {
            try {
                if (p.maxPreparedTransactions() == 0) {
                    cannotPrepare.add(p.name);
                }
            } catch (SQLException | RuntimeException e) {
                p.fail(e);
                throw failure(migrationId, Mode.TWO_PHASE, participants, p, e);
            }
        }
        if (cannotPrepare.isEmpty()) {
            return twoPhase(migrationId, options, participants);
        }
        if (strategy == Strategy.TWO_PHASE) {
            throw new EtlRollbackException(ErrorCode.FAILED, "rollback of " + migrationId + " across databases "
                    + String.join(", ", databases.keySet()) + " refused: the server of " + String.join(", ", cannotPrepare)
                    + " does not allow prepared transactions (max_prepared_transactions = 0), so the databases cannot"
                    + " commit as one unit. Set max_prepared_transactions above 0 there (a restart is needed), or"
                    + " choose strategy TWO_PHASE_OR_ONE_BY_ONE, which can leave some databases rolled back and others"
                    + " not. Nothing was changed.");
        }
        LOG.warn("Rolling back {} one database at a time: {} cannot prepare transactions", migrationId,
                String.join(", ", cannotPrepare));
        return oneByOne(migrationId, options, participants);
    }

    private CrossDatabaseResult twoPhase(String migrationId, RollbackOptions options, List<Participant> participants) {
        try {
            for (Participant p : participants) {
                try {
                    p.open();
                    p.result = Reverser.using(p.dataSource).rollbackInTransaction(p.connection, migrationId, options);
                } catch (SQLException | RuntimeException e) {
                    p.fail(e);
                    abandon(participants);
                    throw failure(migrationId, Mode.TWO_PHASE, participants, p, e);
                }
            }
            if (options.dryRun()) {
                abandon(participants);
                return result(migrationId, Mode.TWO_PHASE, participants);
            }
            String gidPrefix = "etl_rollback:" + UUID.randomUUID() + ":";
            for (int i = 0; i < participants.size(); i++) {
                Participant p = participants.get(i);
                try {
                    p.prepare(gidPrefix + i);
                } catch (SQLException | RuntimeException e) {
                    p.fail(e);
                    abandon(participants);
                    throw failure(migrationId, Mode.TWO_PHASE, participants, p, e);
                }
            }
            // every database is prepared: the decision is to commit, in every one of them
            Participant inDoubt = null;
            Exception firstError = null;
            for (Participant p : participants) {
                try {
                    p.commitPrepared();
                } catch (SQLException | RuntimeException e) {
                    p.state = State.IN_DOUBT;
                    p.error = "its rollback is prepared as transaction '" + p.gid + "' but the commit could not be"
                            + " confirmed (" + message(e) + "); check pg_prepared_xacts there and run COMMIT PREPARED '"
                            + p.gid + "' if it is listed";
                    if (inDoubt == null) {
                        inDoubt = p;
                        firstError = e;
                    }
                }
            }
            if (inDoubt != null) {
                throw failure(migrationId, Mode.TWO_PHASE, participants, inDoubt, firstError);
            }
            CrossDatabaseResult result = result(migrationId, Mode.TWO_PHASE, participants);
            LOG.info("Rollback of {} committed in {} with two-phase commit", migrationId,
                    String.join(", ", result.committed()));
            return result;
        } finally {
            participants.forEach(Participant::close);
        }
    }

    private CrossDatabaseResult oneByOne(String migrationId, RollbackOptions options, List<Participant> participants) {
        Participant failed = null;
        RuntimeException cause = null;
        for (Participant p : participants) {
            if (failed != null) {
                p.state = State.NOT_ATTEMPTED;
                continue;
            }
            try {
                p.result = Reverser.using(p.dataSource).rollback(migrationId, options);
                p.state = options.dryRun() ? State.NOT_COMMITTED : State.COMMITTED;
            } catch (RuntimeException e) {
                p.fail(e);
                failed = p;
                cause = e;
            }
        }
        if (failed != null) {
            throw failure(migrationId, Mode.ONE_BY_ONE, participants, failed, cause);
        }
        return result(migrationId, Mode.ONE_BY_ONE, participants);
    }

    /** Rolls back every transaction that is still open or prepared; nothing of them is committed. */
    private static void abandon(List<Participant> participants) {
        for (Participant p : participants) {
            if (p.state == State.FAILED) {
                p.rollbackQuietly();
                continue;
            }
            try {
                p.rollback();
                p.state = State.NOT_COMMITTED;
            } catch (SQLException | RuntimeException e) {
                if (p.gid == null) {
                    // an open transaction that cannot be rolled back ends with its connection, uncommitted
                    p.state = State.NOT_COMMITTED;
                } else {
                    p.state = State.IN_DOUBT;
                    p.error = "its rollback is prepared as transaction '" + p.gid + "' and could not be abandoned ("
                            + message(e) + "); run ROLLBACK PREPARED '" + p.gid + "' there";
                }
            }
        }
    }

    private static CrossDatabaseResult result(String migrationId, Mode mode, List<Participant> participants) {
        return new CrossDatabaseResult(migrationId, mode, participants.stream().map(Participant::outcome).toList());
    }

    private CrossDatabaseRollbackException failure(String migrationId, Mode mode, List<Participant> participants,
                                                   Participant where, Throwable cause) {
        for (Participant p : participants) {
            if (p.state == null) {
                p.state = mode == Mode.TWO_PHASE ? State.NOT_COMMITTED : State.NOT_ATTEMPTED;
            }
        }
        CrossDatabaseResult result = result(migrationId, mode, participants);
        StringBuilder message = new StringBuilder("rollback of ").append(migrationId).append(" across databases ")
                .append(String.join(", ", databases.keySet())).append(' ');
        if (where.state == State.IN_DOUBT) {
            message.append("is in doubt in ").append(where.name).append(": ").append(where.error).append('.');
        } else {
            message.append("failed in ").append(where.name).append(": ").append(where.error).append('.');
        }
        Map<State, List<String>> byState = result.databases().stream().collect(Collectors.groupingBy(
                DatabaseRollback::state, LinkedHashMap::new,
                Collectors.mapping(DatabaseRollback::database, Collectors.toList())));
        if (mode == Mode.TWO_PHASE && byState.keySet().stream().allMatch(s -> s == State.FAILED
                || s == State.NOT_COMMITTED)) {
            message.append(" Nothing was changed in any database.");
        } else {
            message.append(" Committed in: ").append(names(byState.get(State.COMMITTED))).append('.');
            if (byState.containsKey(State.IN_DOUBT)) {
                message.append(" In doubt in: ").append(names(byState.get(State.IN_DOUBT))).append('.');
            }
            if (byState.containsKey(State.FAILED) || byState.containsKey(State.NOT_ATTEMPTED)) {
                List<String> unchanged = new ArrayList<>();
                unchanged.addAll(byState.getOrDefault(State.FAILED, List.of()));
                unchanged.addAll(byState.getOrDefault(State.NOT_ATTEMPTED, List.of()));
                unchanged.addAll(byState.getOrDefault(State.NOT_COMMITTED, List.of()));
                message.append(" Not rolled back: ").append(names(unchanged)).append('.');
            }
        }
        ErrorCode code = cause instanceof EtlRollbackException e ? e.errorCode() : ErrorCode.FAILED;
        return new CrossDatabaseRollbackException(code, message.toString(), result, cause);
    }

    private static String names(List<String> names) {
        return names == null || names.isEmpty() ? "none" : String.join(", ", names);
    }

    private static String message(Throwable e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().strip();
        int newline = m.indexOf('\n');
        return Database.redact(newline < 0 ? m : m.substring(0, newline));
    }

    /** One database taking part, with its connection while a two-phase rollback runs. */
    private static final class Participant {
        final String name;
        final DataSource dataSource;
        Connection connection;
        String gid;
        /** Null while undecided. */
        State state;
        RollbackResult result;
        String error;

        Participant(String name, DataSource dataSource) {
            this.name = name;
            this.dataSource = dataSource;
        }

        int maxPreparedTransactions() throws SQLException {
            try (Connection c = dataSource.getConnection()) {
                return DSL.using(c, SQLDialect.POSTGRES)
                        .fetchSingle("select current_setting('max_prepared_transactions')::int").into(Integer.class);
            }
        }

        void open() throws SQLException {
            connection = dataSource.getConnection();
            connection.setAutoCommit(false);
        }

        void prepare(String gid) throws SQLException {
            dsl().execute("prepare transaction {0}", inline(gid));
            this.gid = gid;
            connection.setAutoCommit(true);
        }

        void commitPrepared() throws SQLException {
            dsl().execute("commit prepared {0}", inline(gid));
            state = State.COMMITTED;
        }

        /** Ends this database's transaction without committing it, prepared or not. */
        void rollback() throws SQLException {
            if (gid != null) {
                dsl().execute("rollback prepared {0}", inline(gid));
            } else if (connection != null) {
                connection.rollback();
            }
        }

        void rollbackQuietly() {
            try {
                rollback();
            } catch (SQLException | RuntimeException e) {
                LOG.debug("Could not roll back the transaction in {}: {}", name, e.toString());
            }
        }

        void fail(Throwable e) {
            state = State.FAILED;
            error = message(e);
        }

        DSLContext dsl() {
            return DSL.using(connection, SQLDialect.POSTGRES);
        }

        DatabaseRollback outcome() {
            return new DatabaseRollback(name, state, Optional.ofNullable(result), Optional.ofNullable(error));
        }

        void close() {
            if (connection != null) {
                try {
                    connection.close();
                } catch (SQLException e) {
                    LOG.debug("Could not close the connection to {}: {}", name, e.toString());
                }
            }
        }
    }

    /**
     * The databases to roll back in, by name (names appear in results and messages; never a password). Validated
     * once, by {@link #load()}.
     */
    public static final class Configuration {
        private final Map<String, DataSource> databases = new LinkedHashMap<>();
        private Strategy strategy = Strategy.TWO_PHASE;

        private Configuration() {
        }

        /** Adds a database; they are rolled back in the order they are added. */
        public Configuration database(String name, DataSource dataSource) {
            if (name == null || name.isBlank()) {
                throw usage("a database needs a name, e.g. database(\"billing\", dataSource)");
            }
            if (dataSource == null) {
                throw usage("database " + name + " has no data source");
            }
            if (databases.putIfAbsent(name, dataSource) != null) {
                throw usage("database " + name + " is named twice; give each database its own name");
            }
            return this;
        }

        /** How to commit; {@link Strategy#TWO_PHASE} by default. */
        public Configuration strategy(Strategy strategy) {
            this.strategy = Objects.requireNonNull(strategy, "strategy");
            return this;
        }

        /**
         * Checks the configuration and returns an immutable {@link CrossDatabaseRollback}. Does not connect.
         *
         * @throws EtlRollbackException with {@link ErrorCode#USAGE} when no database is configured
         */
        public CrossDatabaseRollback load() {
            if (databases.isEmpty()) {
                throw usage("no database configured: add each with database(name, dataSource)");
            }
            return new CrossDatabaseRollback(new LinkedHashMap<>(databases), strategy);
        }

        private static EtlRollbackException usage(String message) {
            return new EtlRollbackException(ErrorCode.USAGE, "cross-database rollback: " + message);
        }
    }
}
