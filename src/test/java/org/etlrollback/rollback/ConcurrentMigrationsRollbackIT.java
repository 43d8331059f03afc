package org.etlrollback.rollback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.etlrollback.ConflictException;
import org.etlrollback.Reverser;
import org.etlrollback.RollbackOptions;
import org.etlrollback.RollbackResult;
import org.etlrollback.TestDatabase;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Migrations that run side by side: interleaved statements, concurrent sessions, a rollback that meets a lock,
 * and a migration whose transaction is still open.
 */
class ConcurrentMigrationsRollbackIT {
    private static final Scenario DB = new Scenario(TestDatabase.forClass(ConcurrentMigrationsRollbackIT.class));
    private static final List<String> TABLE_NAMES = List.of("accounts", "transfers");
    private static final String[] TABLES = {"conc.accounts", "conc.transfers"};

    @BeforeEach
    void schema() throws SQLException {
        DB.forgetMigrations();
        DB.sql(setup("conc") + """
                select etl_rollback.track('conc.accounts');
                select etl_rollback.track('conc.transfers');
                """);
    }

    /** The tables and their seed rows, in the given schema. */
    private static String setup(String schema) {
        return """
                drop schema if exists %1$s cascade;
                create schema %1$s;
                create table %1$s.accounts (id int primary key, owner text not null, balance numeric(12,2) not null);
                create table %1$s.transfers (id int primary key, account_id int not null references %1$s.accounts,
                    amount numeric(12,2) not null, note text);
                insert into %1$s.accounts select g, 'owner ' || g, g * 10 from generate_series(1, 100) g;
                insert into %1$s.transfers select g, 1 + g %% 100, g / 4.0, null from generate_series(1, 200) g;
                """.formatted(schema);
    }

    /**
     * The rows the tables would hold had only these statements (written for schema conc; null ones are skipped)
     * run after the seed.
     */
    private static Map<String, String> stateAfterOnly(List<String> statements) throws SQLException {
        DB.sql(setup("expected"));
        for (String statement : statements) {
            if (statement != null) {
                DB.sql(statement.replace("conc.", "expected."));
            }
        }
        Map<String, String> expected = new LinkedHashMap<>();
        TABLE_NAMES.forEach(t -> expected.put("conc." + t, DB.rows("expected." + t)));
        return expected;
    }

    @Test
    void rollingBackOneOfTwoInterleavedMigrationsKeepsAllOfTheOthersChanges() throws SQLException {
        Map<String, String> before = DB.state(TABLES);
        List<String> m1 = List.of(
                "update conc.accounts set balance = balance + 1 where id between 1 and 10",
                "insert into conc.transfers select g, 1, 1, 'm1' from generate_series(1001, 1010) g",
                "delete from conc.transfers where id between 1 and 5",
                "update conc.transfers set note = 'm1' where id between 50 and 60",
                "update conc.accounts set balance = 111 where id = 30");
        List<String> m2 = List.of(
                "update conc.accounts set balance = balance - 1 where id between 11 and 20",
                "insert into conc.transfers select g, 2, 2, 'm2' from generate_series(2001, 2010) g",
                "delete from conc.transfers where id between 6 and 10",
                "update conc.transfers set note = 'm2' where id between 61 and 70",
                "update conc.accounts set balance = 999, owner = 'm2' where id = 30");
        try (Connection c1 = DB.db().connect(); Connection c2 = DB.db().connect();
             Statement s1 = c1.createStatement(); Statement s2 = c2.createStatement()) {
            TestDatabase.tag(c1, "m1");
            TestDatabase.tag(c2, "m2");
            for (int i = 0; i < m1.size(); i++) {
                // on account 30, m2 writes first and m1 after it
                if (i == m1.size() - 1) {
                    s2.execute(m2.get(i));
                    s1.execute(m1.get(i));
                } else {
                    s1.execute(m1.get(i));
                    s2.execute(m2.get(i));
                }
            }
        }
        Map<String, String> afterM2Only = stateAfterOnly(m2);

        DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true));

        assertThat(DB.state(TABLES)).isEqualTo(afterM2Only);
        assertThat(DB.text("select balance || ' ' || owner from conc.accounts where id = 30")).isEqualTo("999.00 m2");
        assertThat(DB.status("m1")).isEqualTo("rolled_back");
        assertThat(DB.status("m2")).isEqualTo("active");

        DB.reverser().rollback("m2", RollbackOptions.defaults().withVerify(true));

        assertThat(DB.state(TABLES)).isEqualTo(before);
    }

    @Test
    void twoConcurrentSessionsAreEachRolledBackInTurn() throws Exception {
        Map<String, String> before = DB.state(TABLES);
        List<String> odd = session(1);
        List<String> even = session(0);
        CyclicBarrier step = new CyclicBarrier(2);
        ExecutorService threads = Executors.newFixedThreadPool(2);
        try {
            Future<?> m1 = threads.submit(() -> write("m1", odd, step));
            Future<?> m2 = threads.submit(() -> write("m2", even, step));
            m1.get(2, TimeUnit.MINUTES);
            m2.get(2, TimeUnit.MINUTES);
        } finally {
            threads.shutdownNow();
        }
        assertThat(DB.count("select count(distinct s.txid) from etl_rollback.statement s")).isEqualTo(4);
        Map<String, String> afterM2Only = stateAfterOnly(even);

        DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true));
        assertThat(DB.state(TABLES)).isEqualTo(afterM2Only);

        DB.reverser().rollback("m2", RollbackOptions.defaults().withVerify(true));
        assertThat(DB.state(TABLES)).isEqualTo(before);
    }

    /** The statements of one session: rows whose id has the given parity (1 odd, 0 even); null commits. */
    private static List<String> session(int parity) {
        String rows = "id %% 2 = %d".formatted(parity);
        List<String> statements = new ArrayList<>();
        statements.add("update conc.accounts set balance = balance * 2 where " + rows + " and id <= 40");
        statements.add("insert into conc.transfers select g, " + (2 - parity) + ", g, 'new'"
                + " from generate_series(1000 + 500 * " + parity + ", 1100 + 500 * " + parity + ") g");
        statements.add(null);
        statements.add("delete from conc.transfers where " + rows + " and id <= 40");
        statements.add("update conc.transfers set amount = 0, note = 'zeroed' where " + rows
                + " and id between 100 and 200");
        statements.add("update conc.accounts set owner = upper(owner) where " + rows + " and id > 60");
        statements.add(null);
        return statements;
    }

    /** Runs the session's statements in step with the other session, committing where a statement is null. */
    private static Void write(String migrationId, List<String> statements, CyclicBarrier step) throws Exception {
        try (Connection c = DB.db().connect(); Statement s = c.createStatement()) {
            c.setAutoCommit(false);
            TestDatabase.tag(c, migrationId);
            for (String statement : statements) {
                step.await(1, TimeUnit.MINUTES);
                if (statement == null) {
                    c.commit();
                } else {
                    s.execute(statement);
                }
            }
        }
        return null;
    }

    @Test
    void lockHeldByAnotherSessionFailsTheRollbackNamingTheTable() throws SQLException {
        DB.tagged("m1", """
                update conc.accounts set balance = 0 where id <= 5;
                delete from conc.transfers where id <= 5;
                """);
        Map<String, String> afterM1 = DB.state(TABLES);
        try (Connection locker = DB.db().connect(); Statement s = locker.createStatement()) {
            locker.setAutoCommit(false);
            s.execute("lock table conc.transfers in access exclusive mode");

            Scenario.assertFailed(() -> DB.reverser().rollback("m1",
                    RollbackOptions.defaults().withLockTimeout(Duration.ofMillis(300))))
                    .hasMessageContaining("could not lock table conc.transfers within 300ms")
                    .hasMessageContaining("Nothing was changed");
            locker.rollback();
        }
        assertThat(DB.state(TABLES)).isEqualTo(afterM1);
        assertThat(DB.status("m1")).isEqualTo("active");
        assertThat(DB.migrationExists("rollback:m1")).isFalse();
    }

    @Test
    void openTransactionOfAWriterFailsTheRollbackNamingTheTable() throws SQLException {
        Map<String, String> before = DB.state(TABLES);
        DB.tagged("m1", """
                update conc.accounts set balance = 0 where id <= 5;
                delete from conc.transfers where id <= 5;
                """);
        Map<String, String> afterM1 = DB.state(TABLES);
        try (Connection writer = DB.db().connect(); Statement s = writer.createStatement()) {
            writer.setAutoCommit(false);
            s.execute("update conc.accounts set owner = 'busy' where id = 99");

            Scenario.assertFailed(() -> DB.reverser().rollback("m1",
                    RollbackOptions.defaults().withLockTimeout(Duration.ofMillis(300))))
                    .hasMessageContaining("could not lock table conc.accounts within 300ms");
            writer.rollback();
        }
        assertThat(DB.state(TABLES)).isEqualTo(afterM1);
        assertThat(DB.status("m1")).isEqualTo("active");

        DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true));
        assertThat(DB.state(TABLES)).isEqualTo(before);
    }

    @Test
    void migrationWhoseFirstTransactionIsOpenIsRefused() throws SQLException {
        Map<String, String> before = DB.state(TABLES);
        try (Connection writer = DB.db().connect(); Statement s = writer.createStatement()) {
            writer.setAutoCommit(false);
            TestDatabase.tag(writer, "m1");
            s.execute("update conc.accounts set balance = 0 where id <= 5");

            Scenario.assertFailed(() -> DB.reverser().rollback("m1"))
                    .hasMessageContaining("m1 is still being written by an open transaction")
                    .hasMessageContaining("Nothing was changed");
            writer.commit();
        }
        DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true));
        assertThat(DB.state(TABLES)).isEqualTo(before);
    }

    @Test
    void migrationWithAnOpenTransactionOnAnotherTableIsRefused() throws SQLException {
        Map<String, String> before = DB.state(TABLES);
        DB.tagged("m1", "update conc.accounts set balance = 0 where id <= 5");
        Map<String, String> committed = DB.state(TABLES);
        try (Connection writer = DB.db().connect(); Statement s = writer.createStatement()) {
            writer.setAutoCommit(false);
            TestDatabase.tag(writer, "m1");
            s.execute("delete from conc.transfers where id <= 5");

            Scenario.assertFailed(() -> DB.reverser().rollback("m1"))
                    .hasMessageContaining("m1 is still being written by an open transaction")
                    .hasMessageContaining("Nothing was changed");
            assertThat(DB.state(TABLES)).isEqualTo(committed);
            assertThat(DB.status("m1")).isEqualTo("active");
            writer.commit();
        }
        RollbackResult result = DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true));
        assertThat(result.rowsRestored()).isEqualTo(10);
        assertThat(DB.state(TABLES)).isEqualTo(before);
    }

    @Test
    void migrationWithAnOpenTransactionOnTheSameTableIsRefused() throws SQLException {
        DB.tagged("m1", "update conc.accounts set balance = 0 where id <= 5");
        Map<String, String> committed = DB.state(TABLES);
        try (Connection writer = DB.db().connect(); Statement s = writer.createStatement()) {
            writer.setAutoCommit(false);
            TestDatabase.tag(writer, "m1");
            s.execute("update conc.accounts set balance = 1 where id = 6");

            Scenario.assertFailed(() -> DB.reverser().rollback("m1"))
                    .hasMessageContaining("m1 is still being written by an open transaction");
            writer.rollback();
        }
        assertThat(DB.state(TABLES)).isEqualTo(committed);
        assertThat(DB.status("m1")).isEqualTo("active");
    }

    @Test
    void aRollbackThatWaitsForAWriterSeesWhatTheWriterCommittedWhateverTheSessionsIsolation() throws Exception {
        DB.tagged("m1", "update conc.accounts set balance = 0 where id <= 5");
        PGSimpleDataSource repeatableRead = (PGSimpleDataSource) DB.db().dataSource("rollback in repeatable read");
        repeatableRead.setOptions("-c default_transaction_isolation=repeatable\\ read");
        ExecutorService thread = Executors.newSingleThreadExecutor();
        try (Connection writer = DB.db().connect(); Statement s = writer.createStatement()) {
            writer.setAutoCommit(false);
            s.execute("update conc.accounts set owner = 'late' where id = 3");
            Future<RollbackResult> rollback = thread.submit(() -> Reverser.using(repeatableRead).rollback("m1",
                    RollbackOptions.defaults().withLockTimeout(Duration.ofMinutes(1))));
            awaitLockWait("rollback in repeatable read");
            writer.commit();

            // the writer's change, committed while the rollback waited for the table, is a conflict like any other
            assertThatThrownBy(() -> rollback.get(1, TimeUnit.MINUTES)).cause()
                    .isInstanceOfSatisfying(ConflictException.class, e -> assertThat(e.conflicts()).singleElement()
                            .satisfies(c -> {
                                assertThat(c.key()).isEqualTo("{\"id\": 3}");
                                assertThat(c.untagged()).isTrue();
                            }));
        } finally {
            thread.shutdownNow();
        }
        assertThat(DB.text("select string_agg(owner || ' ' || balance, ', ' order by id) from conc.accounts"
                + " where id <= 5")).isEqualTo("owner 1 0.00, owner 2 0.00, late 0.00, owner 4 0.00, owner 5 0.00");
        assertThat(DB.status("m1")).isEqualTo("active");
    }

    @Test
    void aRollbackInASessionThatSwitchesTriggersOffStillChecksForeignKeysAndIsLogged() throws SQLException {
        Map<String, String> before = DB.state(TABLES);
        DB.tagged("m1", """
                insert into conc.accounts values (101, 'new', 1);
                update conc.accounts set balance = 0 where id <= 5;
                """);
        DB.sql("insert into conc.transfers values (1001, 101, 5, 'to the account m1 opened')");
        Map<String, String> afterTransfer = DB.state(TABLES);
        PGSimpleDataSource replica = (PGSimpleDataSource) DB.db().dataSource("rollback as a replica");
        replica.setOptions("-c session_replication_role=replica");

        // the transfer refers to the account m1 opened: deleting it would leave the transfer pointing nowhere
        Scenario.assertFailed(() -> Reverser.using(replica).rollback("m1"))
                .hasMessageContaining("violates foreign key constraint \"transfers_account_id_fkey\"");
        assertThat(DB.state(TABLES)).isEqualTo(afterTransfer);

        DB.sql("delete from conc.transfers where id = 1001");
        RollbackResult result = Reverser.using(replica).rollback("m1");
        assertThat(result.outcome()).isEqualTo(RollbackResult.Outcome.ROLLED_BACK);
        assertThat(DB.state(TABLES)).isEqualTo(before);
        // the rollback's own changes were logged, so that it can be undone
        assertThat(DB.text("select row_changes::text from etl_rollback.migrations where migration_id = 'rollback:m1'"))
                .isEqualTo("6");
    }

    /** Waits until a session of the application waits for a lock, as the server shows it. */
    private static void awaitLockWait(String application) throws SQLException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
        while (DB.count("select count(*) from pg_stat_activity where application_name = '" + application + "'"
                + " and wait_event_type = 'Lock'") == 0) {
            assertThat(System.nanoTime()).as("waiting for the rollback to wait for a lock").isLessThan(deadline);
            Thread.sleep(10);
        }
    }
}
