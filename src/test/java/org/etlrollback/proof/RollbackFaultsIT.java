package org.etlrollback.proof;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollbackException;
import org.etlrollback.Reverser;
import org.etlrollback.RollbackOptions;
import org.etlrollback.RollbackResult;
import org.etlrollback.TestDatabase;
import org.etlrollback.cli.CliProcess;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A rollback that dies half way: its process killed with SIGKILL, or its connection closed by the server. The
 * database must then hold the state before the rollback or the state after it, in full, with the migration's status
 * to match; and rolling back again must succeed and end in the state before the migration.
 *
 * <p>The migrations are large enough for a rollback to take about a second; the points of failure are each step of
 * the rollback's progress, the commit, and random (seeded, printed) delays.
 */
class RollbackFaultsIT {
    private static final TestDatabase DB = TestDatabase.forClass(RollbackFaultsIT.class);
    private static final long SEED = Long.getLong("etlrollback.seed", System.nanoTime());
    private static final String APPLICATION = "etl-rollback under fault";
    /** The tables' full content, hashed: a comparison of hundreds of thousands of rows in one value each. */
    private static final String STATE = """
            select 'accounts', md5(string_agg(t::text, ',' order by t.id)) from fault.accounts t
            union all
            select 'entries', md5(string_agg(t::text, ',' order by t.id)) from fault.entries t
            """;

    @BeforeAll
    static void tables() throws SQLException {
        System.out.println("RollbackFaultsIT seed " + SEED + " (-Detlrollback.seed=" + SEED + " repeats the kills)");
        DB.execute("""
                create schema fault;
                create table fault.accounts (id int primary key, owner text not null, balance numeric(14,2) not null);
                create table fault.entries (id int primary key, account_id int not null references fault.accounts,
                    amount numeric(14,2) not null, note text);
                insert into fault.accounts select g, 'owner ' || g, g from generate_series(1, 30000) g;
                insert into fault.entries select g, 1 + g % 30000, g / 100.0, null from generate_series(1, 60000) g;
                select etl_rollback.track('fault.accounts');
                select etl_rollback.track('fault.entries');
                """);
    }

    /** Writes a migration that changes, inserts and deletes enough rows for its rollback to take a while. */
    private static void migrate(String migrationId) throws SQLException {
        try (Connection c = DB.connect(); Statement s = c.createStatement()) {
            TestDatabase.tag(c, migrationId);
            s.execute("""
                    update fault.accounts set balance = balance + 1, owner = owner || '+' where id % 2 = 0;
                    insert into fault.entries select 1000000 + g, 1 + g % 30000, 1, 'new'
                      from generate_series(1, 20000) g
                     where not exists (select from fault.entries where id = 1000000 + g);
                    update fault.entries set note = coalesce(note, '') || 'x' where id % 3 = 0;
                    delete from fault.entries where id % 7 = 0 and id < 1000000;
                    """);
        }
    }

    @Test
    void killedCommandLeavesTheStateBeforeOrAfterAndRollingBackAgainSucceeds() throws Exception {
        Random random = new Random(SEED);
        Map<String, String> before = state();
        migrate("uninterrupted");
        long started = System.nanoTime();
        Process uninterrupted = cli("uninterrupted");
        assertThat(uninterrupted.waitFor(2, TimeUnit.MINUTES)).isTrue();
        assertThat(uninterrupted.exitValue()).isZero();
        long fullRun = Duration.ofNanos(System.nanoTime() - started).toMillis();
        assertThat(state()).isEqualTo(before);

        List<String> outcomes = new ArrayList<>();
        for (int i = 1; i <= 4; i++) {
            String id = "killed " + i;
            migrate(id);
            Map<String, String> migrated = state();
            // the JVM starts in the first part of a run: kill somewhere in the rest, or a little after it
            long delay = fullRun / 4 + (long) (random.nextDouble() * fullRun);
            Process process = cli(id);
            boolean ended = process.waitFor(delay, TimeUnit.MILLISECONDS);
            process.destroyForcibly();
            process.waitFor(1, TimeUnit.MINUTES);
            awaitNoBackend("etl-rollback");

            outcomes.add(id + " after " + delay + " ms: " + (ended ? "ended first, " : "") + status(id));
            assertStateMatchesStatus(id, before, migrated);
            RollbackResult again = Reverser.using(DB.dataSource()).rollback(id);
            assertThat(again.outcome()).isIn(RollbackResult.Outcome.ROLLED_BACK,
                    RollbackResult.Outcome.ALREADY_ROLLED_BACK);
            assertThat(state()).isEqualTo(before);
            assertThat(status(id)).isEqualTo("rolled_back");
        }
        System.out.println("RollbackFaultsIT kills (full run " + fullRun + " ms): " + outcomes);
    }

    @Test
    void connectionClosedByTheServerAfterEachStepLeavesTheStateBeforeAndRollingBackAgainSucceeds() throws Exception {
        Map<String, String> before = state();
        // a delete, an update and an insert per table: six steps, and the release of their savepoint after the last
        for (int step = 1; step <= 6; step++) {
            String id = "terminated after step " + step;
            migrate(id);
            Map<String, String> migrated = state();
            int stop = step;
            AtomicInteger steps = new AtomicInteger();
            RollbackOptions options = RollbackOptions.defaults().withProgress((what, done, planned) -> {
                if (steps.incrementAndGet() == stop) {
                    terminate(APPLICATION);
                }
            });
            try {
                RollbackResult result = Reverser.using(DB.dataSource(APPLICATION)).rollback(id, options);
                // fewer steps than that one: it ran to the end
                assertThat(steps.get()).as("steps of %s", result).isLessThan(stop);
            } catch (EtlRollbackException e) {
                assertThat(e.errorCode()).isEqualTo(ErrorCode.FAILED);
                assertThat(e.getMessage()).contains("rollback of " + id + " failed")
                        .contains("terminating connection due to administrator command")
                        .contains("Nothing was changed");
                assertThat(status(id)).isEqualTo("active");
            }
            awaitNoBackend(APPLICATION);
            assertStateMatchesStatus(id, before, migrated);
            Reverser.using(DB.dataSource()).rollback(id);
            assertThat(state()).isEqualTo(before);
        }
    }

    @Test
    void connectionClosedByTheServerAtARandomTimeLeavesTheStateBeforeOrAfterAndRollingBackAgainSucceeds()
            throws Exception {
        Random random = new Random(SEED + 2);
        Map<String, String> before = state();
        migrate("timed");
        long started = System.nanoTime();
        Reverser.using(DB.dataSource()).rollback("timed");
        long fullRun = Duration.ofNanos(System.nanoTime() - started).toMillis();

        List<String> outcomes = new ArrayList<>();
        for (int i = 1; i <= 4; i++) {
            String id = "terminated in time " + i;
            migrate(id);
            Map<String, String> migrated = state();
            long delay = (long) (random.nextDouble() * fullRun * 1.2);
            Thread killer = new Thread(() -> {
                try {
                    Thread.sleep(delay);
                    terminate(APPLICATION);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            killer.start();
            String outcome;
            try {
                Reverser.using(DB.dataSource(APPLICATION)).rollback(id);
                outcome = "done";
            } catch (EtlRollbackException e) {
                assertThat(e.errorCode()).isEqualTo(ErrorCode.FAILED);
                outcome = e.getMessage();
                if (status(id).equals("rolled_back")) {
                    // the connection went while the commit was on its way: it must not claim nothing changed
                    assertThat(e.getMessage()).doesNotContain("Nothing was changed");
                } else {
                    assertThat(e.getMessage()).contains("Nothing was changed");
                }
            }
            killer.join();
            awaitNoBackend(APPLICATION);
            outcomes.add(id + " after " + delay + " ms: " + outcome);
            assertStateMatchesStatus(id, before, migrated);
            Reverser.using(DB.dataSource()).rollback(id);
            assertThat(state()).isEqualTo(before);
        }
        System.out.println("RollbackFaultsIT terminations (full run " + fullRun + " ms): " + outcomes);
    }

    @Test
    void connectionLostWhileCommittingIsReportedAsUnknownAndRollingBackAgainSucceeds() throws Exception {
        Map<String, String> before = state();
        String id = "dies at commit";
        migrate(id);
        Map<String, String> migrated = state();
        // a deferred trigger on the migrations' status ends the rollback's session while it commits
        DB.execute("""
                create function fault.die() returns trigger language plpgsql as
                $$ begin perform pg_terminate_backend(pg_backend_pid()); return null; end $$;
                create constraint trigger die_at_commit after update on etl_rollback.migration
                    deferrable initially deferred for each row
                    when (new.migration_id = 'dies at commit') execute function fault.die();
                """);
        try {
            assertThatThrownBy(() -> Reverser.using(DB.dataSource(APPLICATION)).rollback(id))
                    .isInstanceOfSatisfying(EtlRollbackException.class,
                            e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.FAILED))
                    .hasMessageContaining("lost while committing")
                    .hasMessageContaining("may or may not have been committed")
                    .hasMessageNotContaining("Nothing was changed");
        } finally {
            DB.execute("drop trigger die_at_commit on etl_rollback.migration; drop function fault.die();");
        }
        awaitNoBackend(APPLICATION);
        assertStateMatchesStatus(id, before, migrated);
        Reverser.using(DB.dataSource()).rollback(id);
        assertThat(state()).isEqualTo(before);
    }

    /** The tables hold the state before the rollback with the migration active, or after it with it rolled back. */
    private static void assertStateMatchesStatus(String id, Map<String, String> beforeMigration,
                                                 Map<String, String> migrated) throws SQLException {
        Map<String, String> now = state();
        String status = status(id);
        if (status.equals("rolled_back")) {
            assertThat(now).as("rows of %s, rolled back", id).isEqualTo(beforeMigration);
            assertThat(count("select count(*) from etl_rollback.migrations where migration_id = ?", "rollback:" + id))
                    .isEqualTo(1);
        } else {
            assertThat(status).isEqualTo("active");
            assertThat(now).as("rows of %s, not rolled back", id).isEqualTo(migrated);
            assertThat(count("select count(*) from etl_rollback.migrations where migration_id = ?", "rollback:" + id))
                    .isZero();
        }
    }

    /** {@code etl-rollback rollback ID}, run from the packaged jar with the connection in its environment. */
    private static Process cli(String migrationId) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-jar", CliProcess.jar().toString(),
                "rollback", migrationId)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD);
        builder.environment().keySet().removeIf(name -> name.startsWith("ETL_ROLLBACK_") || name.startsWith("PG"));
        builder.environment().put("ETL_ROLLBACK_URL", DB.url());
        builder.environment().put("ETL_ROLLBACK_USER", DB.user());
        builder.environment().put("ETL_ROLLBACK_PASSWORD", DB.password());
        return builder.start();
    }

    /** Closes, from the server's side, the connections of the application. */
    private static void terminate(String application) {
        try (Connection c = DB.connect(); PreparedStatement ps = c.prepareStatement(
                "select pg_terminate_backend(pid) from pg_stat_activity"
                        + " where application_name = ? and datname = current_database()")) {
            ps.setString(1, application);
            ps.execute();
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Waits until the server has ended the sessions of the application. A backend whose client was killed goes only
     * when it next talks to the client (or the termination takes effect); nothing signals that but the server's own
     * view, so this asks it, for at most a minute.
     */
    private static void awaitNoBackend(String application) throws SQLException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
        while (count("select count(*) from pg_stat_activity where application_name = ?"
                + " and datname = current_database()", application) > 0) {
            if (System.nanoTime() > deadline) {
                fail("the server still has a session of " + application + " a minute after its client went");
            }
            Thread.sleep(20);
        }
    }

    private static Map<String, String> state() throws SQLException {
        Map<String, String> state = new TreeMap<>();
        try (Connection c = DB.connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(STATE)) {
            while (rs.next()) {
                state.put(rs.getString(1), rs.getString(2));
            }
        }
        return state;
    }

    private static String status(String migrationId) throws SQLException {
        try (Connection c = DB.connect(); PreparedStatement ps = c.prepareStatement(
                "select status from etl_rollback.migrations where migration_id = ?")) {
            ps.setString(1, migrationId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : "unknown";
            }
        }
    }

    private static long count(String query, String parameter) throws SQLException {
        try (Connection c = DB.connect(); PreparedStatement ps = c.prepareStatement(query)) {
            ps.setString(1, parameter);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

}
