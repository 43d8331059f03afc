package org.etlrollback.proof;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.etlrollback.Conflict;
import org.etlrollback.ConflictPolicy;
import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollbackException;
import org.etlrollback.Reverser;
import org.etlrollback.RollbackOptions;
import org.etlrollback.RollbackResult;
import org.etlrollback.TestDatabase;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A rollback while other sessions keep writing the same tables, untagged and tagged, in transactions that write the
 * two tables in the opposite order of the rollback's locks (a rollback that held one table while it waited for the
 * other would deadlock with them). The rollback must succeed at its first attempt. Every write a session committed
 * must be there at the end; a row of the migration that a session changed before the rollback locked the table is
 * a conflict (the rollback skips it), one changed after is restored first and changed after (half of the
 * migration's rows are left alone until the rollback is done, so that there are some of those).
 */
class ConcurrentWritersIT {
    private static final TestDatabase DB = TestDatabase.forClass(ConcurrentWritersIT.class);
    private static final int ITEMS = 400;
    /** The migration changed the qty of items 1 to this, and only the migration changes qty. */
    private static final int MIGRATED = 200;
    private static final List<String> WRITERS = List.of("", "", "writer tagged");

    @BeforeEach
    void tables() throws SQLException {
        DB.execute("""
                delete from etl_rollback.checkpoint;
                delete from etl_rollback.statement;
                delete from etl_rollback.migration;
                drop schema if exists conc cascade;
                create schema conc;
                create table conc.items (id int primary key, qty int not null, note text not null default '');
                create table conc.log (id bigint primary key, item_id int not null, token text not null);
                insert into conc.items (id, qty) select g, g from generate_series(1, %d) g;
                select etl_rollback.track('conc.items');
                select etl_rollback.track('conc.log');
                """.formatted(ITEMS));
        try (Connection c = DB.connect(); Statement s = c.createStatement()) {
            TestDatabase.tag(c, "m1");
            s.execute("""
                    update conc.items set qty = qty + 100 where id <= %d;
                    insert into conc.log select g, g, 'm1' from generate_series(1, 1000) g;
                    """.formatted(MIGRATED));
        }
    }

    /** What the writers did: tokens they committed, by item; errors they met, by SQL state. */
    private static final class Writes {
        final Map<Integer, Set<String>> committed = new ConcurrentHashMap<>();
        final Map<String, AtomicInteger> errors = new ConcurrentHashMap<>();
        final AtomicInteger transactions = new AtomicInteger();
        /** Set once the rollback is done; then {@link #afterRollback} counts the writers' transactions down. */
        final AtomicBoolean rolledBack = new AtomicBoolean();
        final CountDownLatch afterRollback = new CountDownLatch(60);
    }

    @Test
    void writesOfOtherSessionsSurviveARollbackWhileTheyKeepWriting() throws Exception {
        Writes writes = new Writes();
        AtomicBoolean stop = new AtomicBoolean();
        CountDownLatch warmedUp = new CountDownLatch(WRITERS.size());
        ExecutorService threads = Executors.newFixedThreadPool(WRITERS.size());
        List<Future<?>> writers = new ArrayList<>();
        for (int n = 0; n < WRITERS.size(); n++) {
            int writer = n;
            writers.add(threads.submit(() -> write(writer, writes, warmedUp, stop)));
        }
        RollbackResult result;
        try {
            assertThat(warmedUp.await(1, TimeUnit.MINUTES)).isTrue();
            result = Reverser.using(DB.dataSource()).rollback("m1", RollbackOptions.defaults()
                    .withOnConflict(ConflictPolicy.SKIP).withLockTimeout(Duration.ofSeconds(30)).withVerify(true));
            // the writers go on for a while after the rollback, on the rows it restored among others
            writes.rolledBack.set(true);
            assertThat(writes.afterRollback.await(1, TimeUnit.MINUTES)).isTrue();
        } finally {
            stop.set(true);
            threads.shutdown();
        }
        for (Future<?> writer : writers) {
            writer.get(1, TimeUnit.MINUTES);
        }
        System.out.println("ConcurrentWritersIT: " + writes.transactions + " writer transactions, writer errors "
                + writes.errors + ", conflicts "
                + result.conflictCount());

        Map<Integer, Integer> qty = new HashMap<>();
        Map<Integer, String> notes = new HashMap<>();
        try (Connection c = DB.connect(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("select id, qty, note from conc.items")) {
            while (rs.next()) {
                qty.put(rs.getInt(1), rs.getInt(2));
                notes.put(rs.getInt(1), rs.getString(3));
            }
        }
        // every token a writer committed is there, in its item and in the log
        writes.committed.forEach((item, tokens) -> tokens.forEach(token ->
                assertThat(notes.get(item)).as("note of item %d", item).contains(" " + token + ";")));
        Set<String> logged = new TreeSet<>();
        try (Connection c = DB.connect(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("select token from conc.log where id > 1000")) {
            while (rs.next()) {
                logged.add(rs.getString(1));
            }
        }
        Set<String> committedTokens = new TreeSet<>();
        writes.committed.values().forEach(committedTokens::addAll);
        assertThat(logged).isEqualTo(committedTokens);
        assertThat(count("select count(*) from conc.log where id <= 1000")).isZero();

        // the migration's items: restored, or left as conflicts because a writer had changed them already
        Set<String> conflicts = new TreeSet<>();
        result.conflicts().forEach(conflict -> conflicts.add(conflict.table() + " " + conflict.key()));
        Set<String> skipped = new TreeSet<>();
        for (int id = 1; id <= ITEMS; id++) {
            if (id <= MIGRATED && qty.get(id) == id + 100) {
                skipped.add("conc.items {\"id\": " + id + "}");
                assertThat(writes.committed.get(id)).as("tokens of skipped item %d", id).isNotEmpty();
            } else {
                assertThat(qty.get(id)).as("qty of item %d", id).isEqualTo(id);
            }
        }
        assertThat(conflicts).isEqualTo(skipped);
        for (int id = MIGRATED / 2 + 1; id <= MIGRATED; id++) {
            assertThat(qty.get(id)).as("qty of item %d, untouched until the rollback", id).isEqualTo(id);
        }
        assertThat(result.conflicts()).allSatisfy(conflict -> assertThat(conflictIsExplained(conflict)).isTrue());
        assertThat(result.outcome()).isEqualTo(skipped.isEmpty() ? RollbackResult.Outcome.ROLLED_BACK
                : RollbackResult.Outcome.PARTIALLY_ROLLED_BACK);
    }

    @Test
    void rollbackWaitingForOneTableHoldsNoOtherSoAWriterOfBothGoesOn() throws Exception {
        DataSource underTest = DB.dataSource("rollback waiting for a writer");
        try (Connection writer = DB.connect(); Statement s = writer.createStatement()) {
            writer.setAutoCommit(false);
            s.execute("insert into conc.log values (5000000, 300, 'writer')");
            ExecutorService threads = Executors.newFixedThreadPool(2);
            try {
                Future<RollbackResult> rollback = threads.submit(() -> Reverser.using(underTest)
                        .rollback("m1", RollbackOptions.defaults().withLockTimeout(Duration.ofMinutes(1))));
                awaitLockWait("rollback waiting for a writer");
                // conc.items comes first in the rollback's order; it must not be held while the rollback waits
                Future<Integer> update = threads.submit(
                        () -> s.executeUpdate("update conc.items set note = 'writer' where id = 300"));
                assertThat(update.get(30, TimeUnit.SECONDS)).isEqualTo(1);
                assertThat(rollback.isDone()).isFalse();
                writer.commit();
                assertThat(rollback.get(1, TimeUnit.MINUTES).outcome()).isEqualTo(RollbackResult.Outcome.ROLLED_BACK);
            } finally {
                threads.shutdownNow();
            }
        }
        assertThat(count("select count(*) from conc.items where qty = id")).isEqualTo(ITEMS);
        assertThat(count("select count(*) from conc.items where note = 'writer' and id = 300")).isEqualTo(1);
        assertThat(count("select count(*) from conc.log")).isEqualTo(1);
        assertThat(count("select count(*) from conc.log where token = 'writer'")).isEqualTo(1);
    }

    @Test
    void rollbackGetsItsLocksWhileEachTableAlwaysHasAnOpenWriter() throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger committed = new AtomicInteger();
        // three writers per table, each holding its table about 40 ms per transaction: at almost any time one of
        // them has it, so the rollback has to wait for busy tables, and get both without a deadlock
        List<String> statements = List.of("update conc.items set note = note || '.' where id = 301",
                "update conc.items set note = note || '.' where id = 302",
                "update conc.items set note = note || '.' where id = 303",
                "insert into conc.log values (7000000 + %d, 1, 'busy')",
                "insert into conc.log values (8000000 + %d, 1, 'busy')",
                "insert into conc.log values (9000000 + %d, 1, 'busy')");
        ExecutorService threads = Executors.newFixedThreadPool(statements.size());
        List<Future<?>> writers = new ArrayList<>();
        for (String statement : statements) {
            writers.add(threads.submit(() -> {
                try (Connection c = DB.connect(); Statement s = c.createStatement()) {
                    c.setAutoCommit(false);
                    for (int k = 0; !stop.get(); k++) {
                        s.execute(statement.formatted(k));
                        Thread.sleep(40);
                        c.commit();
                        committed.incrementAndGet();
                    }
                }
                return null;
            }));
        }
        RollbackResult result;
        try {
            while (committed.get() < 8) {
                Thread.sleep(10);
            }
            result = Reverser.using(DB.dataSource()).rollback("m1",
                    RollbackOptions.defaults().withLockTimeout(Duration.ofSeconds(20)));
        } finally {
            stop.set(true);
            threads.shutdown();
        }
        for (Future<?> writer : writers) {
            writer.get(1, TimeUnit.MINUTES);
        }
        System.out.println("ConcurrentWritersIT: rollback among busy writers took " + result.duration().toMillis() + " ms");
        assertThat(result.outcome()).isEqualTo(RollbackResult.Outcome.ROLLED_BACK);
        assertThat(count("select count(*) from conc.items where qty = id")).isEqualTo(ITEMS);
        assertThat(count("select count(*) from conc.log where id <= 1000")).isZero();
        assertThat(count("select count(*) from conc.log where token = 'busy'")
                + count("select length(note) from conc.items where id = 301")
                + count("select length(note) from conc.items where id = 302")
                + count("select length(note) from conc.items where id = 303")).isEqualTo(committed.get());
    }

    @Test
    void rollbackThatLosesADeadlockWithAWriterOfItsMigrationSaysSoAndChangesNothing() throws Exception {
        DataSource underTest = DB.dataSource("rollback in a deadlock");
        try (Connection writer = DB.connect(); Statement s = writer.createStatement()) {
            writer.setAutoCommit(false);
            // the writer leaves the deadlock to be found by the rollback, which waits first
            s.execute("set local deadlock_timeout = '1min'");
            s.execute("insert into conc.log values (5000000, 300, 'untagged')");
            ExecutorService threads = Executors.newFixedThreadPool(2);
            try {
                Future<RollbackResult> rollback = threads.submit(() -> Reverser.using(underTest).rollback("m1"));
                // the rollback holds m1 against new writers and waits for conc.log
                awaitLockWait("rollback in a deadlock");
                // the writer goes on under m1: its capture waits for the rollback
                Future<Integer> update = threads.submit(() -> {
                    s.execute("select set_config('etl_rollback.migration_id', 'm1', true)");
                    return s.executeUpdate("update conc.items set note = 'late' where id = 300");
                });
                assertThatThrownBy(() -> rollback.get(1, TimeUnit.MINUTES))
                        .cause().isInstanceOfSatisfying(EtlRollbackException.class,
                                e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.FAILED))
                        .hasMessageContaining("could not lock table conc.log: a deadlock with another session")
                        .hasMessageContaining("Nothing was changed; roll back again");
                assertThat(update.get(1, TimeUnit.MINUTES)).isEqualTo(1);
                writer.commit();
            } finally {
                threads.shutdownNow();
            }
        }
        assertThat(count("select count(*) from conc.items where id <= " + MIGRATED + " and qty = id + 100"))
                .isEqualTo(MIGRATED);
        assertThat(count("select count(*) from etl_rollback.migrations where status <> 'active'")).isZero();

        RollbackResult again = Reverser.using(DB.dataSource()).rollback("m1");
        assertThat(again.outcome()).isEqualTo(RollbackResult.Outcome.ROLLED_BACK);
        assertThat(count("select count(*) from conc.items where qty = id and note = ''")).isEqualTo(ITEMS);
        assertThat(count("select count(*) from conc.log")).isEqualTo(1);
        assertThat(count("select count(*) from conc.log where token = 'untagged'")).isEqualTo(1);
    }

    /** Waits until a session of the application waits for a lock, as the server shows it. */
    private static void awaitLockWait(String application) throws SQLException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
        while (count("select count(*) from pg_stat_activity where application_name = '" + application + "'"
                + " and wait_event_type = 'Lock'") == 0) {
            assertThat(System.nanoTime()).as("waiting for the rollback to wait for a lock").isLessThan(deadline);
            Thread.sleep(10);
        }
    }

    /** A writer: transactions that log a token, then append it to an item's note; retried after a deadlock. */
    private static Void write(int writer, Writes writes, CountDownLatch warmedUp, AtomicBoolean stop)
            throws SQLException {
        Random random = new Random(writer);
        try (Connection c = DB.connect();
             PreparedStatement log = c.prepareStatement("insert into conc.log values (?, ?, ?)");
             PreparedStatement note = c.prepareStatement(
                     "update conc.items set note = note || ' ' || ? || ';' where id = ?")) {
            if (!WRITERS.get(writer).isEmpty()) {
                TestDatabase.tag(c, WRITERS.get(writer));
            }
            c.setAutoCommit(false);
            int done = 0;
            for (int k = 1; !stop.get(); k++) {
                // until the rollback is done, the migration's items 101 to 200 are left alone: they must be
                // restored, and written again after
                int item = 1 + random.nextInt(ITEMS);
                if (!writes.rolledBack.get() && item > MIGRATED / 2 && item <= MIGRATED) {
                    item -= MIGRATED / 2;
                }
                String token = "w" + writer + "." + k;
                try {
                    log.setLong(1, 1_000_000L * (writer + 1) + k);
                    log.setInt(2, item);
                    log.setString(3, token);
                    log.executeUpdate();
                    note.setString(1, token);
                    note.setInt(2, item);
                    note.executeUpdate();
                    c.commit();
                    writes.committed.computeIfAbsent(item, i -> Collections.synchronizedSet(new TreeSet<>()))
                            .add(token);
                    writes.transactions.incrementAndGet();
                    if (writes.rolledBack.get()) {
                        writes.afterRollback.countDown();
                    }
                    if (++done == 20) {
                        warmedUp.countDown();
                    }
                } catch (SQLException e) {
                    c.rollback();
                    writes.errors.computeIfAbsent(e.getSQLState(), s -> new AtomicInteger()).incrementAndGet();
                    assertThat(e.getSQLState()).as("writer error %s", e.getMessage()).isIn("40P01", "55P03");
                }
            }
        }
        return null;
    }

    /** Whether the conflict's item has a token, or a later migration is named: something did change it. */
    private static boolean conflictIsExplained(Conflict conflict) {
        return conflict.untagged() || conflict.laterMigrations().equals(List.of("writer tagged"));
    }

    private static long count(String query) throws SQLException {
        try (Connection c = DB.connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(query)) {
            rs.next();
            return rs.getLong(1);
        }
    }

}
