package org.etlrollback.capture;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.SQLException;
import java.util.List;
import org.etlrollback.TestDatabase;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A session's writes are logged exactly while etl_rollback.migration_id is set to a valid id of an
 * active migration, and never otherwise.
 */
class TaggingIT {

    private static TestDatabase db;

    private Session s;

    @BeforeAll
    static void createDatabase() throws SQLException {
        db = TestDatabase.forClass(TaggingIT.class);
        try (Session setup = new Session(db.connect())) {
            setup.exec("create table public.note (id int primary key, body text)",
                       "select etl_rollback.track('public.note')");
        }
    }

    @BeforeEach
    void connect() throws SQLException {
        s = new Session(db.connect());
        s.exec("truncate public.note");
    }

    @AfterEach
    void disconnect() throws SQLException {
        s.close();
    }

    private long loggedRows() throws SQLException {
        return s.number("select count(*) from etl_rollback.changes where table_name = 'public.note'");
    }

    private List<String> migrationIds() throws SQLException {
        return s.column("select migration_id from etl_rollback.migrations order by migration_id");
    }

    @Test
    void untaggedWritesAreNotLogged() throws SQLException {
        long before = loggedRows();
        List<String> migrations = migrationIds();
        s.exec("insert into public.note values (1, 'a'), (2, 'b')",
               "update public.note set body = 'c'",
               "delete from public.note where id = 1",
               "truncate public.note");

        assertThat(s.text("select current_setting('etl_rollback.migration_id', true)")).isNull();
        assertThat(loggedRows()).isEqualTo(before);
        assertThat(migrationIds()).isEqualTo(migrations);
    }

    @Test
    void setLocalTagsOnlyItsOwnTransaction() throws SQLException {
        s.exec("begin",
               "set local etl_rollback.migration_id = 'set-local'",
               "insert into public.note values (1, 'tagged')",
               "commit");
        long before = loggedRows();
        s.exec("insert into public.note values (2, 'untagged')",
               "update public.note set body = 'untagged too'",
               "delete from public.note");

        // after a transaction-local setting the placeholder reads as '', not null
        assertThat(s.text("select current_setting('etl_rollback.migration_id', true)")).isEmpty();
        assertThat(loggedRows()).isEqualTo(before);
        assertThat(s.changes("set-local")).containsExactly(
            s.inserted("public.note", "{\"id\": 1}", "{\"id\": 1, \"body\": \"tagged\"}"));
    }

    @Test
    void setConfigLocalTagsOnlyItsOwnTransaction() throws SQLException {
        s.exec("begin",
               "select set_config('etl_rollback.migration_id', 'set-config-local', true)",
               "insert into public.note values (1, 'tagged')",
               "commit");
        long before = loggedRows();
        s.exec("insert into public.note values (2, 'untagged')", "truncate public.note");

        assertThat(s.text("select current_setting('etl_rollback.migration_id', true)")).isEmpty();
        assertThat(loggedRows()).isEqualTo(before);
        assertThat(s.changes("set-config-local")).containsExactly(
            s.inserted("public.note", "{\"id\": 1}", "{\"id\": 1, \"body\": \"tagged\"}"));
    }

    @Test
    void resetEndsTheTagging() throws SQLException {
        s.exec("set etl_rollback.migration_id = 'reset'",
               "insert into public.note values (1, 'tagged')",
               "reset etl_rollback.migration_id");
        long before = loggedRows();
        s.exec("insert into public.note values (2, 'untagged')", "delete from public.note");

        assertThat(loggedRows()).isEqualTo(before);
        assertThat(s.changes("reset")).containsExactly(
            s.inserted("public.note", "{\"id\": 1}", "{\"id\": 1, \"body\": \"tagged\"}"));
    }

    @Test
    void emptyMigrationIdMeansUntagged() throws SQLException {
        long before = loggedRows();
        List<String> migrations = migrationIds();
        s.exec("set etl_rollback.migration_id = ''",
               "insert into public.note values (1, 'a')",
               "update public.note set body = 'b'",
               "truncate public.note");

        assertThat(loggedRows()).isEqualTo(before);
        assertThat(migrationIds()).isEqualTo(migrations);
    }

    @Test
    void abortedTransactionLeavesNothingInTheLog() throws SQLException {
        long before = loggedRows();
        long statements = s.number("select count(*) from etl_rollback.statement");
        s.connection().setAutoCommit(false);
        s.tag("aborted");
        s.exec("insert into public.note values (1, 'a'), (2, 'b')",
               "update public.note set body = 'c'",
               "truncate public.note");
        assertThat(s.changes("aborted")).hasSize(6);
        s.connection().rollback();
        s.connection().setAutoCommit(true);

        assertThat(s.changes("aborted")).isEmpty();
        assertThat(s.number("select count(*) from etl_rollback.migrations where migration_id = 'aborted'")).isZero();
        assertThat(s.number("select count(*) from etl_rollback.statement")).isEqualTo(statements);
        assertThat(loggedRows()).isEqualTo(before);
    }

    @Test
    void changesUndoneByRollbackToSavepointLeaveTheLog() throws SQLException {
        s.tag("savepoint");
        s.exec("begin",
               "insert into public.note values (1, 'kept')",
               "savepoint before_mistake",
               "insert into public.note values (2, 'undone')",
               "update public.note set body = 'undone'",
               "rollback to savepoint before_mistake",
               "update public.note set body = 'kept too'",
               "commit");

        assertThat(s.changes("savepoint")).containsExactly(
            s.inserted("public.note", "{\"id\": 1}", "{\"id\": 1, \"body\": \"kept\"}"),
            s.updated("public.note", "{\"id\": 1}", "{\"id\": 1, \"body\": \"kept\"}", "{\"id\": 1, \"body\": \"kept too\"}"));
        assertThat(s.number("select row_changes from etl_rollback.migrations where migration_id = 'savepoint'")).isEqualTo(2);
    }

    @Test
    void migrationIdOfTwoHundredCharactersIsAccepted() throws SQLException {
        String id = "é".repeat(199) + "x";
        s.tag(id);
        s.exec("insert into public.note values (1, 'a')");

        assertThat(s.changes(id)).hasSize(1);
        assertThat(s.column("select migration_id from etl_rollback.migrations where migration_id = ?", id)).containsExactly(id);
    }

    @Test
    void migrationIdLongerThanTwoHundredCharactersFailsTheStatement() throws SQLException {
        List<String> migrations = migrationIds();
        s.tag("x".repeat(201));

        SQLException e = s.error("insert into public.note values (1, 'a')");
        assertThat(e.getSQLState()).isEqualTo("22023");
        assertThat(e.getMessage()).contains("is 201 characters long; at most 200 are allowed");
        assertThat(s.number("select count(*) from public.note")).isZero();
        assertThat(migrationIds()).isEqualTo(migrations);
    }

    @Test
    void migrationIdWithControlCharactersFailsTheStatement() throws SQLException {
        List<String> migrations = migrationIds();
        for (String id : List.of("tab\there", "new\nline", "bell\u0007", "del\u007f")) {
            s.tag(id);
            SQLException e = s.error("insert into public.note values (1, 'a')");
            assertThat(e.getSQLState()).as(id).isEqualTo("22023");
            assertThat(e.getMessage()).as(id).contains("contains control characters");
            SQLException checkpoint = s.error("select etl_rollback.checkpoint('c')");
            assertThat(checkpoint.getSQLState()).as(id).isEqualTo("22023");
        }
        assertThat(s.number("select count(*) from public.note")).isZero();
        assertThat(migrationIds()).isEqualTo(migrations);
    }

    @Test
    void checkpointWithoutATagFails() throws SQLException {
        SQLException unset = s.error("select etl_rollback.checkpoint('c')");
        s.exec("set etl_rollback.migration_id = ''");
        SQLException empty = s.error("select etl_rollback.checkpoint('c')");

        for (SQLException e : List.of(unset, empty)) {
            assertThat(e.getSQLState()).isEqualTo("55000");
            assertThat(e.getMessage()).contains("checkpoint: this session has no migration id");
        }
    }

    @Test
    void checkpointMarksThePointBetweenTheChangesBeforeAndAfterIt() throws SQLException {
        s.tag("checkpointed");
        s.exec("insert into public.note values (1, 'before')");
        long seq = s.number("select etl_rollback.checkpoint('halfway')");
        s.exec("insert into public.note values (2, 'after')");

        assertThat(s.query("select name, seq::text from etl_rollback.checkpoints where migration_id = 'checkpointed'"))
            .containsExactly(List.of("halfway", Long.toString(seq)));
        assertThat(s.query("select new_row->>'body', (seq > ?)::text from etl_rollback.changes"
                           + " where migration_id = 'checkpointed' order by seq", seq))
            .containsExactly(List.of("before", "false"), List.of("after", "true"));
        assertThat(s.error("select etl_rollback.checkpoint('halfway')").getMessage())
            .contains("already has a checkpoint named 'halfway'");
    }

    @Test
    void checkpointAloneStartsTheMigration() throws SQLException {
        s.tag("only-a-checkpoint");
        s.exec("select etl_rollback.checkpoint('start')");

        assertThat(s.query("select status, row_changes::text, tables::text from etl_rollback.migrations"
                           + " where migration_id = 'only-a-checkpoint'"))
            .containsExactly(List.of("active", "0", "{}"));
    }

    @Test
    void writingUnderAMigrationThatIsNoLongerActiveIsRefused() throws SQLException {
        for (String status : List.of("rolled_back", "partially_rolled_back")) {
            String id = "finished-" + status;
            s.tag(id);
            s.exec("insert into public.note values (1, 'first')");
            s.update("update etl_rollback.migration set status = ? where migration_id = ?", status, id);

            SQLException write = s.error("update public.note set body = 'second'");
            assertThat(write.getSQLState()).as(status).isEqualTo("55000");
            assertThat(write.getMessage()).as(status).contains("migration '" + id + "'", "new migration id");
            SQLException checkpoint = s.error("select etl_rollback.checkpoint('late')");
            assertThat(checkpoint.getSQLState()).as(status).isEqualTo("55000");

            assertThat(s.column("select body from public.note")).as(status).containsExactly("first");
            assertThat(s.changes(id)).as(status).hasSize(1);
            s.exec("reset etl_rollback.migration_id", "truncate public.note");
        }
    }

    @Test
    void migrationNameIsTakenFromTheSessionThatStartsTheMigration() throws SQLException {
        s.exec("set etl_rollback.migration_name = 'Nightly customer load'");
        s.tag("named");
        s.exec("insert into public.note values (1, 'a')",
               "set etl_rollback.migration_name = 'renamed later'",
               "insert into public.note values (2, 'b')");

        assertThat(s.column("select name from etl_rollback.migrations where migration_id = 'named'"))
            .containsExactly("Nightly customer load");
    }
}
