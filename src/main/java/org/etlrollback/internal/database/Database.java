package org.etlrollback.internal.database;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Objects;
import java.util.regex.Pattern;
import javax.sql.DataSource;

import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollbackException;
import org.jooq.DSLContext;
import org.postgresql.ds.PGSimpleDataSource;
import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

/**
 * The database etl-rollback works on: where connections come from, how the server is named in
 * messages (never with a password), and how database errors become {@link EtlRollbackException}s
 * that say what happened, to what, and what to check.
 */
public final class Database {
    private static final Pattern URL_PASSWORD = Pattern.compile("(?i)(password=)[^&;\\s]*");
    private static final Pattern URL_USER_INFO = Pattern.compile("(//[^/@:\\s]*):[^/@\\s]*@");

    private final DataSource dataSource;
    private final String description;

    /**
     * @param dataSource  where connections come from
     * @param description how to name the server in messages, e.g. a URL without password
     */
    public Database(DataSource dataSource, String description) {
        this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
        this.description = Objects.requireNonNull(description, "description");
    }

    /** A database reached through a data source, named in messages as {@link #describe(DataSource)} names it. */
    public static Database of(DataSource dataSource) {
        return new Database(dataSource, describe(dataSource));
    }

    /**
     * How messages name the database of a data source: its URL and user for PostgreSQL's own data sources (never a
     * password), else the data source's class.
     */
    public static String describe(DataSource dataSource) {
        if (dataSource instanceof PGSimpleDataSource pg) {
            String hosts = String.join(",", Objects.requireNonNullElse(pg.getServerNames(), new String[0]));
            int[] ports = pg.getPortNumbers();
            String port = ports == null || ports.length == 0 || ports[0] == 0 ? "" : ":" + ports[0];
            String description = "jdbc:postgresql://" + hosts + port + "/"
                    + Objects.requireNonNullElse(pg.getDatabaseName(), "");
            return pg.getUser() == null ? description : description + " as " + pg.getUser();
        }
        return "the database of " + dataSource.getClass().getName();
    }

    public DataSource dataSource() {
        return dataSource;
    }

    /** The server and database as messages name them; never holds a password. */
    public String description() {
        return description;
    }

    /**
     * Refuses to go on when etl-rollback is not installed in the database, saying what to run.
     */
    public void requireInstalled(DSLContext dsl) {
        boolean installed = dsl.resultQuery("select to_regclass('etl_rollback.migration') is not null")
                .fetchSingle(0, Boolean.class);
        if (!installed) {
            throw new EtlRollbackException(ErrorCode.FAILED, "etl-rollback is not installed in " + description
                    + ": there is no schema etl_rollback with its catalog. Run 'etl-rollback install' first.");
        }
    }

    /**
     * Resolves every name the current transaction's statements use in {@code pg_catalog} only, never in a schema of
     * the caller's {@code search_path}, where a look-alike function or operator (say {@code to_regclass(text)}, or
     * {@code =} for two varchar) would run with the caller's rights. The engine names each of its own objects with
     * its schema.
     */
    public static void pinSearchPath(DSLContext dsl) {
        dsl.execute("set local search_path = pg_catalog, pg_temp");
    }

    /**
     * Opens a connection, or fails with a message naming the server and what to check.
     */
    public Connection connect() {
        try {
            return dataSource.getConnection();
        } catch (SQLException e) {
            throw connectionFailure(e);
        }
    }

    private EtlRollbackException connectionFailure(SQLException e) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        String check;
        if (state.equals("28P01") || state.equals("28000")) {
            check = "Check the user and password (--user, --password or --password-file; ETL_ROLLBACK_USER and "
                    + "ETL_ROLLBACK_PASSWORD; PGUSER and PGPASSWORD), and that pg_hba.conf lets that user in.";
        } else if (state.equals("3D000")) {
            check = "Check the database name at the end of the URL.";
        } else {
            check = "Check that the server is running and accepts TCP connections at that host and port, "
                    + "and the URL (jdbc:postgresql://HOST:PORT/DATABASE).";
        }
        String reason = redact(firstLine(e.getMessage()));
        int advice = reason.indexOf(" Check that");
        if (advice > 0) {
            reason = reason.substring(0, advice);
        }
        reason = reason.replaceAll("[.\\s]+$", "");
        return new EtlRollbackException(ErrorCode.FAILED,
                "cannot connect to " + description + ": " + reason + ". " + check, e);
    }

    /**
     * The exception to throw when {@code action} failed with {@code cause}: the server's message
     * (prefixed with the action unless it names it already), its hint, what state the database was
     * left in, and which database it was.
     *
     * @param action  what was being done, e.g. "track public.customers"; its first word names the
     *                SQL function, whose errors start with that word
     * @param cause   a jOOQ, JDBC, Flyway or other exception
     * @param outcome what state the database was left in, e.g. "Nothing was tracked."
     */
    public EtlRollbackException failure(String action, Throwable cause, String outcome) {
        PSQLException psql = psqlCause(cause);
        if (psql != null && psql.getServerErrorMessage() == null
                && psql.getSQLState() != null && psql.getSQLState().startsWith("08")) {
            return connectionFailure(psql);
        }
        String reason;
        if (psql != null && psql.getServerErrorMessage() != null) {
            ServerErrorMessage server = psql.getServerErrorMessage();
            reason = sentence(server.getMessage());
            if (server.getDetail() != null) {
                reason += " " + sentence(server.getDetail());
            }
            if (server.getHint() != null) {
                reason += " " + sentence(server.getHint());
            }
        } else {
            reason = sentence(firstLine(cause.getMessage()));
        }
        String verb = action.split(" ", 2)[0];
        if (!reason.startsWith(verb + ":")) {
            reason = action + " failed: " + reason;
        }
        return new EtlRollbackException(ErrorCode.FAILED,
                redact(reason) + " " + outcome + " (database: " + description + ")", cause);
    }

    private static String sentence(String text) {
        String s = text == null ? "" : text.strip();
        return s.endsWith(".") ? s : s + ".";
    }

    /**
     * A JDBC URL, or any text holding one, with passwords taken out: {@code password=...}
     * parameters and {@code user:password@} parts.
     */
    public static String redact(String text) {
        if (text == null) {
            return null;
        }
        String redacted = URL_PASSWORD.matcher(text).replaceAll("$1***");
        return URL_USER_INFO.matcher(redacted).replaceAll("$1:***@");
    }

    private static PSQLException psqlCause(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof PSQLException psql) {
                return psql;
            }
        }
        return null;
    }

    private static String firstLine(String message) {
        if (message == null || message.isBlank()) {
            return "no reason given";
        }
        int newline = message.indexOf('\n');
        return (newline < 0 ? message : message.substring(0, newline)).strip();
    }

    @Override
    public String toString() {
        return description;
    }
}
