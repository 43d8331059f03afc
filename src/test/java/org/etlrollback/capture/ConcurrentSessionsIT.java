package org.etlrollback.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.etlrollback.TestDatabase;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;

/**
 * Sessions tagged with different migration ids that write the same table at the same time: each
 * change is logged under its own session's id, and changes to one row are logged in the order in
 * which they were committed.
 */
class ConcurrentSessionsIT {

    private static TestDatabase db;
    private static ExecutorService background;

    private Session a;
    private Session b;
    private Session observer;

    @BeforeAll
    static void createDatabase() {
        background = Executors.newSingleThreadExecutor();
        db = TestDatabase.forClass(ConcurrentSessionsIT.class);
    }

    @AfterAll
    static void stopBackground() {
        background.shutdownNow();
    }

    @BeforeEach
    void connect() throws SQLException {
        a = new Session(db.connect());
        b = new Session(db.connect());
        observer = new Session(db.connect());
        a.connection().setAutoCommit(false);
        b.connection().setAutoCommit(false);
    }

    @AfterEach
    void disconnect() throws SQLException {
        a.close();
        b.close();
        observer.close();
    }

    /** Waits until the session is blocked on a lock held by the other one. */
    private void awaitBlocked(Session waiting, Session holder) throws SQLException {
        long waitingPid = waiting.connection().unwrap(PGConnection.class).getBackendPID();
        long holderPid = holder.connection().unwrap(PGConnection.class).getBackendPID();
        Instant deadline = Instant.now().plus(Duration.ofSeconds(30));
        while (!observer.text("select (?::int = any(pg_blocking_pids(?::int)))::text", holderPid, waitingPid).equals("true")) {
            if (Instant.now().isAfter(deadline)) {
                fail("session %d was never blocked by session %d", waitingPid, holderPid);
            }
            Thread.onSpinWait();
        }
    }

    private List<List<String>> logOf(String table) throws SQLException {
        return observer.query("select migration_id, op, pk::text, old_row::text, new_row::text"
                              + " from etl_rollback.changes where table_name = ? order by seq", table);
    }

    private List<String> change(String migrationId, String op, String pk, String oldRow, String newRow) throws SQLException {
        List<String> row = new ArrayList<>();
        row.add(migrationId);
        row.add(op);
        row.add(observer.jsonb(pk));
        row.add(oldRow == null ? null : observer.jsonb(oldRow));
        row.add(newRow == null ? null : observer.jsonb(newRow));
        return row;
    }

    @Test
    void interleavedSessionsLogEachChangeUnderTheirOwnIdInCommitOrder() throws Exception {
        observer.exec("create table public.account (id int primary key, balance int)",
                      "select etl_rollback.track('public.account')",
                      "insert into public.account values (1, 100), (2, 100), (3, 100)");
        a.tag("alpha");
        b.tag("beta");

        a.exec("update public.account set balance = balance - 10 where id = 1");
        b.exec("update public.account set balance = balance + 5 where id = 2");
        a.exec("insert into public.account values (4, 40)");
        Future<Session> doubling = background.submit(() -> b.exec("update public.account set balance = balance * 2 where id = 1"));
        awaitBlocked(b, a);
        assertThat(doubling).isNotDone();
        a.connection().commit();
        doubling.get(30, TimeUnit.SECONDS);
        b.exec("delete from public.account where id = 4");
        b.connection().commit();

        assertThat(logOf("public.account")).containsExactly(
            change("alpha", "UPDATE", "{\"id\": 1}", "{\"id\": 1, \"balance\": 100}", "{\"id\": 1, \"balance\": 90}"),
            change("beta", "UPDATE", "{\"id\": 2}", "{\"id\": 2, \"balance\": 100}", "{\"id\": 2, \"balance\": 105}"),
            change("alpha", "INSERT", "{\"id\": 4}", null, "{\"id\": 4, \"balance\": 40}"),
            change("beta", "UPDATE", "{\"id\": 1}", "{\"id\": 1, \"balance\": 90}", "{\"id\": 1, \"balance\": 180}"),
            change("beta", "DELETE", "{\"id\": 4}", "{\"id\": 4, \"balance\": 40}", null));
        assertThat(observer.query("select migration_id, row_changes::text, tables::text from etl_rollback.migrations"
                                  + " where migration_id in ('alpha', 'beta') order by migration_id"))
            .containsExactly(List.of("alpha", "2", "{public.account}"), List.of("beta", "3", "{public.account}"));
    }

    @Test
    void sessionsStartingTheSameMigrationAtOnceShareOneMigration() throws Exception {
        observer.exec("create table public.shared (id int primary key)",
                      "select etl_rollback.track('public.shared')");
        a.tag("together");
        b.tag("together");

        a.exec("insert into public.shared values (1)");
        Future<Session> second = background.submit(() -> b.exec("insert into public.shared values (2)"));
        awaitBlocked(b, a);
        a.connection().commit();
        second.get(30, TimeUnit.SECONDS);
        b.connection().commit();

        assertThat(logOf("public.shared")).containsExactly(
            change("together", "INSERT", "{\"id\": 1}", null, "{\"id\": 1}"),
            change("together", "INSERT", "{\"id\": 2}", null, "{\"id\": 2}"));
        assertThat(observer.query("select row_changes::text from etl_rollback.migrations where migration_id = 'together'"))
            .containsExactly(List.of("2"));
    }

    @Test
    void sessionStartingAMigrationAnotherSessionAbandonsStartsItItself() throws Exception {
        observer.exec("create table public.abandoned (id int primary key)",
                      "select etl_rollback.track('public.abandoned')");
        a.tag("second-try");
        b.tag("second-try");

        a.exec("insert into public.abandoned values (1)");
        Future<Session> second = background.submit(() -> b.exec("insert into public.abandoned values (2)"));
        awaitBlocked(b, a);
        a.connection().rollback();
        second.get(30, TimeUnit.SECONDS);
        b.connection().commit();

        assertThat(logOf("public.abandoned")).containsExactly(
            change("second-try", "INSERT", "{\"id\": 2}", null, "{\"id\": 2}"));
        assertThat(observer.query("select row_changes::text from etl_rollback.migrations where migration_id = 'second-try'"))
            .containsExactly(List.of("1"));
    }
}
