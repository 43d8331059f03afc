package org.etlrollback.cli;

import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import javax.sql.DataSource;

import org.etlrollback.EtlRollback;
import org.etlrollback.EtlRollbackException;
import org.postgresql.ds.PGSimpleDataSource;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The {@code etl-rollback} command line. Results go to stdout, diagnostics and progress to stderr.
 * Exit codes: 0 done, 1 error or refused, 2 usage error, 3 refused because of conflicts.
 */
@Command(name = "etl-rollback",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        subcommands = {InstallCommand.class, TrackCommand.class, UntrackCommand.class, ListCommand.class,
            ShowCommand.class, RollbackCommand.class, CleanupCommand.class, InteractiveCommand.class, DemoCommand.class,
            BenchCommand.class,
            CommandLine.HelpCommand.class},
        usageHelpWidth = 100,
        description = "Selective, conflict-aware rollback of tagged data migrations on PostgreSQL.",
        synopsisSubcommandLabel = "COMMAND",
        commandListHeading = "%nCommands:%n",
        optionListHeading = "%nOptions (the connection options may also follow the command):%n",
        footerHeading = "%n",
        footer = {
            "Connection: each setting comes from the first place that has it: the option, then the environment's "
                    + "ETL_ROLLBACK_URL, ETL_ROLLBACK_USER, ETL_ROLLBACK_PASSWORD, then libpq's PGHOST, PGPORT, "
                    + "PGDATABASE, PGUSER, PGPASSWORD.",
            "",
            "Exit codes: 0 done (also \"nothing to do\"), 1 error or refused, 2 usage error, "
                    + "3 refused because of conflicts. Results go to stdout, diagnostics to stderr.",
            "",
            "Examples:",
            "  etl-rollback demo                    (no database needed: an embedded PostgreSQL)",
            "  export ETL_ROLLBACK_URL=jdbc:postgresql://localhost:5432/shop",
            "  export ETL_ROLLBACK_USER=etl ETL_ROLLBACK_PASSWORD=...",
            "  etl-rollback install",
            "  etl-rollback track public.customers public.orders",
            "  etl-rollback --url jdbc:postgresql://db/shop --user etl --password-file pw.txt untrack public.t1",
            "  etl-rollback list",
            "  etl-rollback show load_2026_11",
            "  etl-rollback rollback load_2026_11 --dry-run",
            "  etl-rollback cleanup --older-than 90 --dry-run",
            "",
            "Run 'etl-rollback help COMMAND' for a command's options."
        })
public final class Main implements Runnable {
    /** Logged at INFO: etl-rollback's own phases; everything else only from WARN up. */
    private static final Map<String, String> LOGGING = Map.of(
            "org.slf4j.simpleLogger.logFile", "System.err",
            "org.slf4j.simpleLogger.defaultLogLevel", "warn",
            "org.slf4j.simpleLogger.log.org.etlrollback", "info",
            "org.slf4j.simpleLogger.showThreadName", "false",
            "org.slf4j.simpleLogger.showLogName", "false",
            "org.slf4j.simpleLogger.showShortLogName", "false",
            "org.jooq.no-logo", "true",
            "org.jooq.no-tips", "true",
            // jOOQ's open-source dialect warns about servers older than the newest it targets; etl-rollback is
            // tested on PostgreSQL 13 and up
            "org.slf4j.simpleLogger.log.org.jooq.impl.DefaultExecuteContext.logVersionSupport", "error");

    @Mixin
    ConnectionOptions connection;

    @Spec
    CommandSpec spec;

    private final Map<String, String> env;
    private final InputStream in;

    Main(Map<String, String> env) {
        this(env, InputStream.nullInputStream());
    }

    Main(Map<String, String> env, InputStream in) {
        this.env = Map.copyOf(env);
        this.in = in;
    }

    public static void main(String[] args) {
        LOGGING.forEach((key, value) -> {
            if (System.getProperty(key) == null) {
                System.setProperty(key, value);
            }
        });
        System.exit(execute(args, System.getenv(), System.in, System.out, System.err));
    }

    /** Runs the command line with nothing to read on standard input; returns the exit code. */
    static int execute(String[] args, Map<String, String> env, PrintStream out, PrintStream err) {
        return execute(args, env, InputStream.nullInputStream(), out, err);
    }

    /** Runs the command line; returns the exit code. */
    static int execute(String[] args, Map<String, String> env, InputStream in, PrintStream out, PrintStream err) {
        Main main = new Main(env, in);
        CommandLine commandLine = new CommandLine(main);
        commandLine.setOut(new PrintWriter(out, true, StandardCharsets.UTF_8));
        commandLine.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
        commandLine.setExecutionExceptionHandler((e, cmd, parseResult) -> main.report(e, cmd));
        commandLine.setParameterExceptionHandler((e, args2) -> main.reportUsage(e));
        return commandLine.execute(args);
    }

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "Missing command: name one of install, track, untrack, "
                + "list, show, rollback, cleanup, interactive, demo, bench");
    }

    /** The connection settings in effect, or nothing when no database is named anywhere. */
    Optional<ConnectionOptions.Settings> connectionIfGiven() {
        return connection.resolveIfGiven(env);
    }

    /** A data source for the connection settings in effect. */
    DataSource dataSource() {
        return dataSource(connection.resolve(env));
    }

    static DataSource dataSource(ConnectionOptions.Settings settings) {
        PGSimpleDataSource dataSource = new PGSimpleDataSource();
        dataSource.setUrl(settings.url());
        dataSource.setUser(settings.user());
        dataSource.setPassword(settings.password());
        return dataSource;
    }

    /** The facade for the connection settings in effect. */
    EtlRollback etlRollback() {
        return connection.load(env);
    }
    /** Standard input, where {@code interactive} reads its answers. */
    InputStream in() {
        return in;
    }

    private int report(Exception e, CommandLine cmd) {
        PrintWriter err = cmd.getErr();
        String message;
        int exitCode;
        if (e instanceof EtlRollbackException failure) {
            message = hideSecrets(failure.getMessage());
            exitCode = failure.errorCode().exitCode();
            err.println("etl-rollback: " + message);
            if (exitCode == CommandLine.ExitCode.USAGE) {
                err.println("Try 'etl-rollback " + (cmd == spec.commandLine() ? "" : cmd.getCommandName() + " ")
                        + "--help' for usage.");
            }
        } else {
            message = "unexpected error: " + hideSecrets(String.valueOf(e));
            exitCode = 1;
            err.println("etl-rollback: " + message);
        }
        jsonError(cmd, message, exitCode);
        return exitCode;
    }

    /** With --json, stdout holds one JSON document whatever happens: for a failure, its message and exit code. */
    private static void jsonError(CommandLine cmd, String message, int exitCode) {
        if (cmd.getParseResult() == null
                || !Boolean.TRUE.equals(cmd.getParseResult().matchedOptionValue("--json", false))) {
            return;
        }
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("error", message);
        doc.put("exit_code", exitCode);
        cmd.getOut().print(Json.document(doc));
        cmd.getOut().flush();
    }

    private int reportUsage(ParameterException e) {
        CommandLine cmd = e.getCommandLine();
        PrintWriter err = cmd.getErr();
        err.println("etl-rollback: " + hideSecrets(e.getMessage()));
        CommandLine.UnmatchedArgumentException.printSuggestions(e, err);
        err.println("Try 'etl-rollback " + (cmd == spec.commandLine() ? "" : cmd.getCommandName() + " ")
                + "--help' for usage.");
        jsonError(cmd, hideSecrets(e.getMessage()), cmd.getCommandSpec().exitCodeOnInvalidInput());
        return cmd.getCommandSpec().exitCodeOnInvalidInput();
    }

    /** Last line of defence: no password of this run appears in a message, whatever produced it. */
    private String hideSecrets(String message) {
        String hidden = message;
        for (String secret : connection.secrets(env)) {
            if (secret.length() >= 4) {
                hidden = hidden.replace(secret, "***");
            }
        }
        return hidden;
    }

    /** The version of the jar, from its manifest. */
    static final class Version implements IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = Main.class.getPackage().getImplementationVersion();
            return new String[] {"etl-rollback " + (version == null ? "(development build)" : version)};
        }
    }
}
