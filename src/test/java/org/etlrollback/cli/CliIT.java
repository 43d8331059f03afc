package org.etlrollback.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.etlrollback.TestDatabase;
import org.etlrollback.cli.CliProcess.Outcome;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The packaged command line, run as a real process against a real server. */
class CliIT {
    private static final TestDatabase DB = TestDatabase.forClass(CliIT.class);

    @TempDir
    Path dir;

    @BeforeAll
    static void createTables() {
        DB.dsl().execute("""
                CREATE TABLE public.customers (id int PRIMARY KEY, name text);
                CREATE TABLE public.orders (id int PRIMARY KEY, customer_id int);
                CREATE TABLE public.events (at timestamptz, payload text);
                CREATE TABLE public.invoices (id int PRIMARY KEY)""");
    }

    private static Map<String, String> etlEnv() {
        return Map.of("ETL_ROLLBACK_URL", DB.url(), "ETL_ROLLBACK_USER", DB.user(), "ETL_ROLLBACK_PASSWORD", DB.password());
    }

    private static Outcome cli(String... args) {
        return CliProcess.run(etlEnv(), args);
    }

    private static List<String> trackedTables() {
        return DB.dsl().fetch("SELECT table_name FROM etl_rollback.tracked_tables ORDER BY 1").getValues(0, String.class);
    }

    private static String[] lines(String text) {
        return text.isEmpty() ? new String[0] : text.split("\\R");
    }

    @Test
    void installOnAnInstalledDatabaseSaysThereIsNothingToDo() {
        Outcome outcome = cli("install");
        assertThat(outcome.exitCode()).as(outcome.toString()).isZero();
        assertThat(lines(outcome.out())).containsExactly("etl-rollback schema version 3 is up to date; nothing to do");
        assertThat(outcome.err()).contains("Installing etl-rollback into " + DB.url()).doesNotContain("nothing to do");
    }

    @Test
    void installIntoAnEmptyDatabaseReportsTheVersionAndTheScripts() throws SQLException {
        TestDatabase empty = TestDatabase.forClass(CliIT.class);
        empty.dsl().execute("DROP SCHEMA etl_rollback CASCADE");
        Map<String, String> env = Map.of("ETL_ROLLBACK_URL", empty.url(), "ETL_ROLLBACK_USER", empty.user(),
                "ETL_ROLLBACK_PASSWORD", empty.password());

        Outcome first = CliProcess.run(env, "install");
        assertThat(first.exitCode()).as(first.toString()).isZero();
        assertThat(lines(first.out())).singleElement().asString()
                .matches("installed etl-rollback schema version 3 \\(\\d+ scripts applied\\)");
        Outcome second = CliProcess.run(env, "install");
        assertThat(second.exitCode()).as(second.toString()).isZero();
        assertThat(second.out()).contains("nothing to do");
        assertThat(empty.dsl().fetchValue("SELECT count(*) FROM etl_rollback.tracked_tables")).isEqualTo(0L);
    }

    @Test
    void rollbackAndTrackWithoutEtlRollbackInstalledSayToInstallItAndJsonCarriesTheError() throws Exception {
        TestDatabase empty = TestDatabase.forClass(CliIT.class);
        empty.dsl().execute("DROP SCHEMA etl_rollback CASCADE; CREATE TABLE public.t (id int primary key)");
        Map<String, String> env = Map.of("ETL_ROLLBACK_URL", empty.url(), "ETL_ROLLBACK_USER", empty.user(),
                "ETL_ROLLBACK_PASSWORD", empty.password());

        Outcome rollback = CliProcess.run(env, "rollback", "m1", "--json");
        Outcome track = CliProcess.run(env, "track", "public.t");

        assertThat(rollback.exitCode()).as(rollback.toString()).isEqualTo(1);
        assertThat(rollback.err()).contains("etl-rollback is not installed", "Run 'etl-rollback install' first");
        JsonNode error = new ObjectMapper().readTree(rollback.out());
        assertThat(error.path("error").asText()).startsWith("etl-rollback is not installed");
        assertThat(error.path("exit_code").asInt()).isEqualTo(1);
        assertThat(track.exitCode()).as(track.toString()).isEqualTo(1);
        assertThat(track.err()).contains("etl-rollback is not installed", "Run 'etl-rollback install' first");
    }

    @Test
    void trackAndUntrackPrintTheTablesAndChangeWhatIsLogged() {
        Outcome track = cli("track", "public.customers", "orders");
        assertThat(track.exitCode()).as(track.toString()).isZero();
        assertThat(lines(track.out())).containsExactly("tracking public.customers", "tracking public.orders");
        assertThat(trackedTables()).contains("public.customers", "public.orders");

        DB.dsl().execute("""
                SET etl_rollback.migration_id = 'cli_load';
                INSERT INTO public.orders VALUES (1, 1);
                RESET etl_rollback.migration_id""");
        Outcome untrack = cli("untrack", "public.orders");
        assertThat(untrack.exitCode()).as(untrack.toString()).isZero();
        assertThat(lines(untrack.out())).containsExactly("no longer tracking public.orders (its log is kept)");
        assertThat(trackedTables()).contains("public.customers").doesNotContain("public.orders");
        assertThat(DB.dsl().fetchValue("SELECT count(*) FROM etl_rollback.changes WHERE migration_id = 'cli_load'"))
                .as("the log of an untracked table is kept").isEqualTo(1L);
        cli("untrack", "public.customers");
    }

    @Test
    void trackRefusesATableWithoutAKeyNamingItAndTracksNothing() {
        Outcome outcome = cli("track", "public.invoices", "public.events");
        assertThat(outcome.exitCode()).as(outcome.toString()).isEqualTo(1);
        assertThat(outcome.out()).isEmpty();
        assertThat(outcome.err()).contains("public.events", "primary key", "Nothing was tracked");
        assertThat(trackedTables()).as("tracking is all or nothing").doesNotContain("public.invoices", "public.events");
    }

    @Test
    void trackOfAMissingTableAndUntrackOfAnUntrackedOneFail() {
        Outcome track = cli("track", "public.no_such_table");
        assertThat(track.exitCode()).as(track.toString()).isEqualTo(1);
        assertThat(track.err()).contains("no_such_table", "does not exist");
        Outcome untrack = cli("untrack", "public.invoices");
        assertThat(untrack.exitCode()).as(untrack.toString()).isEqualTo(1);
        assertThat(untrack.err()).contains("public.invoices", "not tracked");
        assertThat(track.out() + untrack.out()).isEmpty();
    }

    @Test
    void usageErrorsExitWithTwo() {
        Outcome noCommand = cli();
        assertThat(noCommand.exitCode()).as(noCommand.toString()).isEqualTo(2);
        Outcome noTable = cli("track");
        assertThat(noTable.exitCode()).as(noTable.toString()).isEqualTo(2);
        Outcome noDatabase = CliProcess.run(Map.of(), "install");
        assertThat(noDatabase.exitCode()).as(noDatabase.toString()).isEqualTo(2);
        assertThat(noDatabase.err()).contains("no database given");
        assertThat(noCommand.out() + noTable.out() + noDatabase.out()).isEmpty();
    }

    @Test
    void connectionOptionsWinOverTheEnvironment() {
        Map<String, String> env = Map.of("ETL_ROLLBACK_URL", "jdbc:postgresql://localhost:1/nowhere",
                "ETL_ROLLBACK_USER", "nobody", "ETL_ROLLBACK_PASSWORD", "nothing");
        Outcome outcome = CliProcess.run(env, "--url", DB.url(), "--user", DB.user(), "--password", DB.password(),
                "install");
        assertThat(outcome.exitCode()).as(outcome.toString()).isZero();
        Outcome after = CliProcess.run(env, "install", "--url", DB.url(), "--user", DB.user(), "--password",
                DB.password());
        assertThat(after.exitCode()).as("options after the command: " + after).isZero();
    }

    @Test
    void libpqVariablesAreEnough() {
        Map<String, String> env = Map.of("PGHOST", DB.host(), "PGPORT", String.valueOf(DB.port()),
                "PGDATABASE", DB.name(), "PGUSER", DB.user(), "PGPASSWORD", DB.password());
        Outcome outcome = CliProcess.run(env, "install");
        assertThat(outcome.exitCode()).as(outcome.toString()).isZero();
        assertThat(outcome.out()).contains("nothing to do");
    }

    @Test
    void passwordFileGivesThePassword() throws IOException {
        Path file = Files.writeString(dir.resolve("password"), DB.password() + "\n");
        Outcome outcome = CliProcess.run(Map.of(), "--url", DB.url(), "--user", DB.user(),
                "--password-file", file.toString(), "install");
        assertThat(outcome.exitCode()).as(outcome.toString()).isZero();
    }

    @Test
    void aWrongPasswordIsNeverPrintedWhereverItComesFrom() throws IOException, SQLException {
        TestDatabase.Login login = DB.createLogin("cli_user");
        String wrong = "Wrong-" + login.password();
        Path file = Files.writeString(dir.resolve("password"), wrong + "\n");
        String[] base = {"--url", DB.url(), "--user", login.user()};
        Map<String, Outcome> outcomes = Map.of(
                "--password", CliProcess.run(Map.of(), concat(base, "--password", wrong, "install")),
                "--password-file", CliProcess.run(Map.of(), concat(base, "--password-file", file.toString(), "track",
                        "public.customers")),
                "ETL_ROLLBACK_PASSWORD", CliProcess.run(Map.of("ETL_ROLLBACK_PASSWORD", wrong), concat(base, "install")),
                "PGPASSWORD", CliProcess.run(Map.of("PGPASSWORD", wrong), concat(base, "untrack", "public.customers")));
        outcomes.forEach((source, outcome) -> {
            assertThat(outcome.exitCode()).as(source + ": " + outcome).isEqualTo(1);
            assertThat(outcome.out()).as(source).isEmpty();
            assertThat(outcome.err()).as(source)
                    .contains("cannot connect to " + DB.url() + " as " + login.user())
                    .contains("password authentication failed")
                    .contains("Check the user and password");
            assertThat(outcome.all()).as(source).doesNotContain(wrong).doesNotContain(login.password());
        });
    }

    @Test
    void aPasswordInTheUrlIsNeverPrinted() {
        String secret = "UrlSecret-" + System.nanoTime();
        Outcome outcome = CliProcess.run(Map.of(), "--url", DB.url() + "?password=" + secret, "--user",
                "no_such_user_" + System.nanoTime(), "install");
        assertThat(outcome.exitCode()).as(outcome.toString()).isEqualTo(1);
        assertThat(outcome.err()).contains("cannot connect to");
        assertThat(outcome.all()).doesNotContain(secret);
    }

    @Test
    void aServerThatIsNotThereIsNamedWithWhatToCheck() throws IOException {
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        String url = "jdbc:postgresql://localhost:" + port + "/shop";
        Outcome outcome = CliProcess.run(Map.of("ETL_ROLLBACK_URL", url, "ETL_ROLLBACK_USER", "etl",
                "ETL_ROLLBACK_PASSWORD", "Never-Printed-1"), "install");
        assertThat(outcome.exitCode()).as(outcome.toString()).isEqualTo(1);
        assertThat(outcome.err()).contains("cannot connect to " + url + " as etl")
                .contains("Check that the server is running");
        assertThat(outcome.all()).doesNotContain("Never-Printed-1");
    }

    @Test
    void aDatabaseThatDoesNotExistIsNamed() {
        Map<String, String> env = new HashMap<>(etlEnv());
        String url = "jdbc:postgresql://" + DB.host() + ":" + DB.port() + "/no_such_database";
        env.put("ETL_ROLLBACK_URL", url);
        Outcome outcome = CliProcess.run(env, "install");
        assertThat(outcome.exitCode()).as(outcome.toString()).isEqualTo(1);
        assertThat(outcome.err()).contains(url, "no_such_database", "does not exist", "Check the database name");
    }

    private static String[] concat(String[] first, String... rest) {
        String[] all = new String[first.length + rest.length];
        System.arraycopy(first, 0, all, 0, first.length);
        System.arraycopy(rest, 0, all, first.length, rest.length);
        return all;
    }
}
