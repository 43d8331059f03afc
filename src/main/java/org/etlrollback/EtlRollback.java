package org.etlrollback;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import javax.sql.DataSource;

import org.etlrollback.internal.capture.Tracker;
import org.etlrollback.internal.changelog.MigrationCatalog;
import org.etlrollback.internal.database.Database;
import org.etlrollback.internal.install.Installer;
import org.etlrollback.internal.retention.Cleanup;
import org.postgresql.Driver;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The entry point of etl-rollback as a library:
 *
 * <pre>{@code
 * EtlRollback etlRollback = EtlRollback.configure().dataSource(dataSource).load();
 * etlRollback.install();
 * etlRollback.track("public.customers", "public.orders");
 * for (MigrationSummary migration : etlRollback.list()) { ... }
 * }</pre>
 *
 * An instance holds no connection: each call takes one from the data source and gives it back.
 * Instances are immutable and safe to share between threads.
 */
public final class EtlRollback {
    private final Database database;

    private EtlRollback(Database database) {
        this.database = database;
    }

    /** Starts a configuration; finish it with {@link Configuration#load()}. */
    public static Configuration configure() {
        return new Configuration();
    }

    /**
     * Installs the {@code etl_rollback} schema, or upgrades an older install in place. Harmless to
     * run again: when the schema is up to date nothing runs. The application's own Flyway history and
     * schemas are never touched.
     *
     * @throws EtlRollbackException when a script fails (nothing is changed then), or the database
     *                              holds a newer install than this version of etl-rollback
     */
    public InstallResult install() {
        return new Installer(database).install();
    }

    /**
     * Starts logging the changes of the tables; tracking a tracked table again brings its capture up
     * to date (new columns, new partitions). All tables are tracked, or, on any error, none.
     *
     * @param tables table names as in SQL, schema-qualified or found through the search path,
     *               e.g. {@code public.customers}
     * @throws EtlRollbackException when a table does not exist, has no key that identifies its rows,
     *                              or the user may not track it
     */
    public TrackResult track(String... tables) {
        return new Tracker(database).track(tableNames("track", tables));
    }

    /**
     * Stops logging the changes of the tables. Their logs stay, so migrations that changed them can
     * still be inspected and rolled back. All tables are untracked, or, on any error, none.
     *
     * @throws EtlRollbackException when a table is not tracked, or the user may not untrack it
     */
    public UntrackResult untrack(String... tables) {
        return new Tracker(database).untrack(tableNames("untrack", tables));
    }

    /**
     * The migrations the log knows, newest first (by their first logged change), as the view
     * {@code etl_rollback.migrations} shows them. Needs the rights of {@code etl_rollback_viewer}.
     *
     * @throws EtlRollbackException when etl-rollback is not installed, or the user may not read the view
     */
    public List<MigrationSummary> list() {
        return new MigrationCatalog(database).list();
    }

    /**
     * One migration: per table the rows it inserted, updated, deleted and truncated and the bytes of its log, its
     * checkpoints, and its rollbacks. Needs the rights of {@code etl_rollback_admin}, since it reads the log itself.
     *
     * @throws EtlRollbackException with {@link ErrorCode#FAILED} when no migration has that id, etl-rollback is not
     *                              installed, or the user may not read the log
     */
    public MigrationDetail show(String migrationId) {
        if (migrationId == null || migrationId.isEmpty()) {
            throw new EtlRollbackException(ErrorCode.USAGE, "show: name a migration id, e.g. load_2026_11");
        }
        return new MigrationCatalog(database).show(migrationId);
    }

    /**
     * Deletes the logs of the migrations whose last activity (logged change or checkpoint) is older than
     * {@code olderThan} on the server's clock: their log rows, statements, checkpoints and catalog rows, in one
     * transaction. They can no longer be inspected or rolled back. A migration is kept, and the result says why,
     * while an open transaction is still writing it or a rollback of it runs; a migration and its rollbacks
     * ({@code X}, {@code rollback:X}) are deleted together or kept together. Needs the rights of
     * {@code etl_rollback_admin}.
     *
     * @param olderThan how old a migration's last activity must be, zero or more
     * @param dryRun    report what would be deleted, and delete nothing
     * @throws EtlRollbackException with {@link ErrorCode#USAGE} for a negative age; with {@link ErrorCode#FAILED}
     *                              when the database fails (then nothing is deleted)
     */
    public CleanupResult cleanup(Duration olderThan, boolean dryRun) {
        return new Cleanup(database).olderThan(olderThan, dryRun);
    }

    /** The Reverser for this database. */
    public Reverser reverser() {
        return Reverser.using(database.dataSource());
    }

    /** Rolls back one migration; see {@link Reverser#rollback(String, RollbackOptions)}. */
    public RollbackResult rollback(String migrationId, RollbackOptions options) {
        return reverser().rollback(migrationId, options);
    }

    /** The database this instance works on, as messages name it (never with a password). */
    @Override
    public String toString() {
        return "EtlRollback[" + database.description() + "]";
    }

    private static List<String> tableNames(String action, String... tables) {
        if (tables == null || tables.length == 0) {
            throw new EtlRollbackException(ErrorCode.USAGE, action + ": name at least one table, e.g. public.customers");
        }
        for (String table : tables) {
            if (table == null || table.isBlank()) {
                throw new EtlRollbackException(ErrorCode.USAGE,
                        action + ": a table name is empty; name tables as in SQL, e.g. public.customers");
            }
        }
        return List.copyOf(Arrays.asList(tables));
    }

    /**
     * How to reach the database: either a {@link DataSource}, or a JDBC URL with a user and password.
     * Validated once, by {@link #load()}.
     */
    public static final class Configuration {
        private DataSource dataSource;
        private String url;
        private String user;
        private String password;

        private Configuration() {
        }

        /** The data source to take connections from; its user needs the rights of the command run. */
        public Configuration dataSource(DataSource dataSource) {
            this.dataSource = dataSource;
            return this;
        }

        /** A PostgreSQL JDBC URL, {@code jdbc:postgresql://HOST:PORT/DATABASE}; instead of a data source. */
        public Configuration url(String url) {
            this.url = url;
            return this;
        }

        /** The user to connect as, with {@link #url(String)}. */
        public Configuration user(String user) {
            this.user = user;
            return this;
        }

        /** The password to connect with, with {@link #url(String)}. It never appears in messages or logs. */
        public Configuration password(String password) {
            this.password = password;
            return this;
        }

        /**
         * Checks the configuration and returns an immutable {@link EtlRollback} for it. Does not connect.
         *
         * @throws EtlRollbackException with {@link ErrorCode#USAGE} naming the setting to fix
         */
        public EtlRollback load() {
            if (dataSource != null) {
                if (url != null || user != null || password != null) {
                    throw usage("dataSource(...) and url(...)/user(...)/password(...) are both set; "
                            + "use either a data source or a URL with its user and password");
                }
                return new EtlRollback(new Database(dataSource, describe(dataSource)));
            }
            if (url == null || url.isBlank()) {
                throw usage("no database configured: set dataSource(...), or url(\"jdbc:postgresql://HOST:PORT/DATABASE\")"
                        + " with user(...) and password(...)");
            }
            Properties parsed = url.startsWith("jdbc:postgresql:") ? Driver.parseURL(url, null) : null;
            if (parsed == null) {
                throw usage("url " + Database.redact(url) + " is not a PostgreSQL JDBC URL; "
                        + "write it as jdbc:postgresql://HOST:PORT/DATABASE");
            }
            PGSimpleDataSource pg = new PGSimpleDataSource();
            pg.setUrl(url);
            if (user != null) {
                pg.setUser(user);
            }
            if (password != null) {
                pg.setPassword(password);
            }
            pg.setApplicationName("etl-rollback");
            String description = Database.redact(url);
            String effectiveUser = pg.getUser();
            if (effectiveUser != null && !effectiveUser.isEmpty()) {
                description += " as " + effectiveUser;
            }
            return new EtlRollback(new Database(pg, description));
        }

        private static String describe(DataSource dataSource) {
            return Database.describe(dataSource);
        }

        private static EtlRollbackException usage(String message) {
            return new EtlRollbackException(ErrorCode.USAGE, "configuration: " + message);
        }
    }
}
