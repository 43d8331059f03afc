package org.etlrollback.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The command line's parsing, help and usage errors, in process; nothing here reaches a database. */
class MainTest {
    private record Run(int exitCode, String out, String err) {
    }

    private static Run run(Map<String, String> env, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exitCode = Main.execute(args, env, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(exitCode, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void helpListsTheCommandsTheConnectionRulesAndExamples() {
        Run run = run(Map.of(), "--help");
        assertThat(run.exitCode()).isZero();
        assertThat(run.out()).contains("install", "track", "untrack", "--url", "--password-file",
                "ETL_ROLLBACK_URL", "PGHOST", "Exit codes", "Examples:");
        assertThat(run.err()).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"install", "track", "untrack"})
    void everyCommandsHelpHasAnExample(String command) {
        Run run = run(Map.of(), command, "--help");
        assertThat(run.exitCode()).isZero();
        assertThat(run.out()).contains("Usage: etl-rollback " + command, "Example:", "etl-rollback ");
        assertThat(run.out().substring(run.out().indexOf("Example:"))).contains(command);
        assertThat(run.err()).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"list", "show", "rollback", "cleanup", "interactive", "demo"})
    void everyCommandsHelpHasExamples(String command) {
        Run run = run(Map.of(), command, "--help");
        assertThat(run.exitCode()).isZero();
        assertThat(run.out()).contains("Usage: etl-rollback " + command, "Examples:", "Exit codes");
        assertThat(run.out().substring(run.out().indexOf("Examples:"))).contains("etl-rollback " + command);
        assertThat(run.err()).isEmpty();
    }

    @Test
    void helpListsEveryCommandOfTheContract() {
        Run run = run(Map.of(), "--help");
        for (String command : new String[] {"install", "track", "untrack", "list", "show", "rollback", "cleanup",
            "interactive", "demo"}) {
            assertThat(run.out()).containsPattern("(?m)^  " + command + " ");
        }
    }

    @Test
    void badValuesAreUsageErrorsBeforeAnyConnection() {
        Map<String, String> nowhere = Map.of("ETL_ROLLBACK_URL", "jdbc:postgresql://localhost:1/nowhere");
        Map<String[], String> cases = Map.of(
                new String[] {"cleanup", "--older-than", "-7"}, "invalid --older-than '-7'",
                new String[] {"interactive", "--limit", "0"}, "invalid --limit 0",
                new String[] {"interactive", "--on-conflict", "later"}, "unknown conflict policy 'later'",
                new String[] {"show"}, "Missing required parameter: 'ID'",
                new String[] {"rollback", "m1", "--lock-timeout", "100000000000s"},
                "invalid --lock-timeout '100000000000s': at most 596h");
        cases.forEach((args, message) -> {
            Run run = run(nowhere, args);
            assertThat(run.exitCode()).as(String.join(" ", args)).isEqualTo(2);
            assertThat(run.err()).as(String.join(" ", args)).contains(message, "--help")
                    .doesNotContain("cannot connect");
            assertThat(run.out()).isEmpty();
        });
    }

    @Test
    void helpNeverShowsAPasswordFromTheEnvironment() {
        Map<String, String> env = Map.of("ETL_ROLLBACK_PASSWORD", "env-secret-1", "PGPASSWORD", "env-secret-2");
        for (String[] args : new String[][] {{"--help"}, {"install", "--help"}, {"help", "track"}}) {
            Run run = run(env, args);
            assertThat(run.out() + run.err()).doesNotContain("env-secret-1").doesNotContain("env-secret-2");
        }
    }

    @Test
    void versionIsPrinted() {
        Run run = run(Map.of(), "--version");
        assertThat(run.exitCode()).isZero();
        assertThat(run.out()).startsWith("etl-rollback ");
    }

    @Test
    void noCommandIsAUsageError() {
        Run run = run(Map.of());
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.out()).isEmpty();
        assertThat(run.err()).contains("Missing command", "--help");
    }

    @Test
    void unknownOptionOrCommandIsAUsageError() {
        Run option = run(Map.of(), "--frobnicate", "install");
        assertThat(option.exitCode()).isEqualTo(2);
        assertThat(option.err()).contains("--frobnicate");
        Run command = run(Map.of(), "instal");
        assertThat(command.exitCode()).isEqualTo(2);
        assertThat(command.err()).contains("Did you mean", "install");
        assertThat(option.out() + command.out()).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"track", "untrack"})
    void trackingNoTableIsAUsageError(String command) {
        Run run = run(Map.of("ETL_ROLLBACK_URL", "jdbc:postgresql://localhost/x"), command);
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).contains("TABLE");
    }

    @Test
    void noDatabaseGivenIsAUsageError() {
        Run run = run(Map.of(), "install");
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).contains("no database given", "--url", "ETL_ROLLBACK_URL", "PGHOST");
        assertThat(run.out()).isEmpty();
    }

    @Test
    void aUrlOfAnotherDatabaseIsAUsageErrorThatHidesItsPassword() {
        Run run = run(Map.of(), "--url", "jdbc:mysql://h/d?password=url-secret", "install");
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).contains("not a PostgreSQL JDBC URL").doesNotContain("url-secret");
    }
}
