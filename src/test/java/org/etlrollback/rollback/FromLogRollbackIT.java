package org.etlrollback.rollback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import org.etlrollback.Conflict;
import org.etlrollback.ConflictException;
import org.etlrollback.ConflictPolicy;
import org.etlrollback.RollbackOptions;
import org.etlrollback.RollbackResult;
import org.etlrollback.TableRollback;
import org.etlrollback.TestDatabase;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Migrations that changed each row once are restored straight from the log, without a plan; everything that needs
 * the plan (a row changed twice or since, a moved key, constraints that want another order) gives way to it, having
 * changed nothing.
 */
class FromLogRollbackIT {
    private static final Scenario DB = new Scenario(TestDatabase.forClass(FromLogRollbackIT.class));
    private static final String[] TABLES = {"flr.customers", "flr.orders"};

    @BeforeEach
    void schema() throws SQLException {
        DB.forgetMigrations();
        DB.sql("""
                drop schema if exists flr cascade;
                create schema flr;
                create table flr.customers (id bigint primary key, name text, email text unique,
                    balance numeric(12,2), updated_at timestamptz,
                    label text generated always as (name || ' <' || email || '>') stored);
                create table flr.orders (id bigint primary key, customer_id bigint references flr.customers,
                    amount numeric(12,2), status text);
                insert into flr.customers select g, 'c' || g, 'c' || g || '@x', g * 1.5,
                    timestamptz '2026-01-01' + g * interval '1 hour' from generate_series(1, 20) g;
                insert into flr.orders select g, 1 + g % 20, g * 2.25, 'new' from generate_series(1, 40) g;
                create function flr.touch() returns trigger language plpgsql as
                    $$ begin new.updated_at := now(); return new; end $$;
                create trigger touch before update on flr.customers for each row execute function flr.touch();
                select etl_rollback.track('flr.customers');
                select etl_rollback.track('flr.orders');
                """);
    }

    @Test
    void rowsEachChangedOnceAreRestoredFromTheLogAndTheRollbackCanBeUndone() throws SQLException {
        Map<String, String> before = DB.state(TABLES);
        DB.tagged("m1", """
                insert into flr.customers (id, name, email, balance)
                    select g, 'n' || g, 'n' || g || '@x', 0 from generate_series(21, 30) g;
                update flr.customers set balance = balance * 1.1, email = null where id <= 8;
                delete from flr.orders where id > 35;
                insert into flr.orders select g, 21 + g % 10, 1, 'new' from generate_series(41, 60) g;
                update flr.orders set status = 'paid' where id <= 4;
                """);
        Map<String, String> after = DB.state(TABLES);

        RollbackResult result = DB.reverser().rollback("m1");

        assertThat(result.method()).isEqualTo(RollbackResult.Method.FROM_LOG);
        assertThat(result.outcome()).isEqualTo(RollbackResult.Outcome.ROLLED_BACK);
        assertThat(result.tables()).containsExactly(
                new TableRollback("flr.customers", 10, 8, 0, 0, 0),
                new TableRollback("flr.orders", 20, 4, 5, 0, 0));
        assertThat(DB.state(TABLES)).isEqualTo(before);
        assertThat(DB.status("m1")).isEqualTo("rolled_back");
        // the rollback is logged like any migration, and undoing it puts m1's changes back
        assertThat(DB.count("select count(*) from etl_rollback.changes where migration_id = 'rollback:m1'"))
                .isEqualTo(47);

        RollbackResult undone = DB.reverser().rollback("rollback:m1");

        assertThat(undone.method()).isEqualTo(RollbackResult.Method.FROM_LOG);
        assertThat(DB.state(TABLES)).isEqualTo(after);
        assertThat(DB.status("m1")).isEqualTo("active");
    }

    @Test
    void statementsWhoseKeysInterleaveAreRestoredFromTheLog() throws SQLException {
        DB.sql("""
                create table flr.pairs (a int, b text, v int, primary key (a, b));
                insert into flr.pairs select g % 3, 'k' || g, g from generate_series(1, 12) g;
                select etl_rollback.track('flr.pairs');
                """);
        String[] tables = {"flr.customers", "flr.orders", "flr.pairs"};
        Map<String, String> before = DB.state(tables);
        DB.tagged("m1", """
                update flr.orders set status = 'even' where id % 2 = 0;
                delete from flr.orders where id in (3, 5, 39);
                insert into flr.orders values (41, 1, 1, 'new');
                update flr.pairs set v = -v where a = 1;
                delete from flr.pairs where a = 2 and b = 'k2';
                """);

        RollbackResult result = DB.reverser().rollback("m1");

        assertThat(result.method()).isEqualTo(RollbackResult.Method.FROM_LOG);
        assertThat(result.tables()).containsExactly(
                new TableRollback("flr.orders", 1, 20, 3, 0, 0),
                new TableRollback("flr.pairs", 0, 4, 1, 0, 0));
        assertThat(DB.state(tables)).isEqualTo(before);
    }

    @Test
    void rowsAnUpdateLeftAsItFoundThemAreCheckedNotWritten() throws SQLException {
        Map<String, String> before = DB.state(TABLES);
        DB.tagged("m1", """
                update flr.orders set status = status where id <= 5;
                update flr.orders set amount = 0 where id = 6;
                """);

        RollbackResult result = DB.reverser().rollback("m1");

        assertThat(result.method()).isEqualTo(RollbackResult.Method.FROM_LOG);
        assertThat(result.tables()).containsExactly(new TableRollback("flr.orders", 0, 1, 0, 5, 0));
        assertThat(DB.state(TABLES)).isEqualTo(before);
        // a plan finds those rows done and writes nothing for them: nor does the restore from the log
        assertThat(DB.count("select count(*) from etl_rollback.changes where migration_id = 'rollback:m1'"))
                .isEqualTo(1);
    }

    @Test
    void rowAnUpdateLeftAsItFoundItAndChangedSinceIsAConflict() throws SQLException {
        DB.tagged("m1", """
                update flr.orders set status = status where id <= 5;
                update flr.orders set amount = 0 where id = 6;
                """);
        DB.sql("update flr.orders set status = 'shipped' where id = 3");
        Map<String, String> now = DB.state(TABLES);

        ConflictException refused = (ConflictException) catchThrowable(() -> DB.reverser().rollback("m1"));

        assertThat(refused.result().conflicts()).extracting(Conflict::key).containsExactly("{\"id\": 3}");
        assertThat(DB.state(TABLES)).isEqualTo(now);
        assertThat(DB.status("m1")).isEqualTo("active");
    }

    @Test
    void rowChangedTwiceByTheMigrationIsPlanned() throws SQLException {
        Map<String, String> before = DB.state(TABLES);
        DB.tagged("m1", """
                delete from flr.orders where id = 3;
                insert into flr.orders values (3, 4, 9.99, 'again');
                update flr.customers set balance = 0 where id = 2;
                """);

        RollbackResult result = DB.reverser().rollback("m1");

        assertThat(result.method()).isEqualTo(RollbackResult.Method.PLANNED);
        // the plan sees one row replaced, where statement by statement it was deleted and inserted
        assertThat(result.tables()).contains(new TableRollback("flr.orders", 0, 1, 0, 0, 0));
        assertThat(DB.state(TABLES)).isEqualTo(before);
    }

    @Test
    void rowInsertedAndDeletedByTheMigrationThenInsertedAgainByOthersIsAConflict() throws SQLException {
        DB.tagged("m1", """
                insert into flr.orders values (70, 1, 5, 'new');
                delete from flr.orders where id = 70;
                """);
        // restored statement by statement, the one row found as the insert left it would be deleted and inserted
        // back: the migration left no row 70, so this one is someone else's
        DB.sql("insert into flr.orders values (70, 1, 5, 'new')");

        assertRefusedForOneConflict("{\"id\": 70}");
    }

    @Test
    void movedKeyIsPlanned() throws SQLException {
        assertRestoredByThePlan("update flr.orders set id = id + 100 where id <= 2");
    }

    @Test
    void rowChangedSinceGivesWayToThePlanWhichReportsItAndChangesNothing() throws SQLException {
        Map<String, String> before = DB.state(TABLES);
        DB.tagged("m1", """
                update flr.customers set balance = 0 where id <= 3;
                delete from flr.orders where id = 7;
                """);
        // the restore's update finds two of the three rows as m1 left them, gives way and undoes what it did
        DB.sql("update flr.customers set name = 'untagged' where id = 3");

        assertThat(assertRefusedForOneConflict("{\"id\": 3}").untagged()).isTrue();
        assertThat(DB.status("m1")).isEqualTo("active");
        assertThat(DB.migrationExists("rollback:m1")).isFalse();

        RollbackResult forced = DB.reverser().rollback("m1",
                RollbackOptions.defaults().withOnConflict(ConflictPolicy.FORCE));

        assertThat(forced.method()).isEqualTo(RollbackResult.Method.PLANNED);
        assertThat(DB.state(TABLES)).isEqualTo(before);
        assertThat(DB.count("select count(*) from etl_rollback.statement s join etl_rollback.migration m"
                + " using (mig) where m.migration_id = 'rollback:m1'")).isEqualTo(2);
    }

    @Test
    void deletedRowWhoseKeyWasTakenSinceIsAConflict() throws SQLException {
        DB.tagged("m1", "delete from flr.orders where id in (5, 6)");
        DB.sql("insert into flr.orders values (6, 1, 1, 'taken')");

        assertRefusedForOneConflict("{\"id\": 6}");
    }

    @Test
    void childRepointedAtAnInsertedParentGivesWayToAnOrderThatWorks() throws SQLException {
        // deleting customer 50 first, as the restore does, would break the foreign key of order 9
        assertRestoredByThePlan("""
                insert into flr.customers (id, name, email, balance) values (50, 'new', 'new@x', 0);
                update flr.orders set customer_id = 50 where id = 9;
                """);
    }

    @Test
    void foreignKeyWithAnActionIsPlanned() throws SQLException {
        DB.sql("""
                create table flr.notes (id int primary key, order_id bigint references flr.orders on delete cascade);
                insert into flr.notes values (1, 1);
                """);
        assertRestoredByThePlan("insert into flr.orders values (100, 1, 1, 'new')");
    }

    @Test
    void checkpointWindowIsRestoredFromTheLog() throws SQLException {
        Map<String, String> before = DB.state(TABLES);
        DB.tagged("m1", """
                update flr.customers set balance = 1 where id <= 2;
                select etl_rollback.checkpoint('half');
                update flr.customers set balance = 2 where id between 3 and 4;
                insert into flr.orders values (100, 1, 1, 'late');
                """);

        RollbackResult partial = DB.reverser().rollback("m1", RollbackOptions.defaults().withToCheckpoint("half"));

        assertThat(partial.method()).isEqualTo(RollbackResult.Method.FROM_LOG);
        assertThat(partial.outcome()).isEqualTo(RollbackResult.Outcome.PARTIALLY_ROLLED_BACK);
        assertThat(partial.tables()).containsExactly(
                new TableRollback("flr.customers", 0, 2, 0, 0, 0),
                new TableRollback("flr.orders", 1, 0, 0, 0, 0));
        assertThat(DB.text("select string_agg(id || ':' || balance, ',' order by id) from flr.customers"
                + " where id <= 4")).isEqualTo("1:1.00,2:1.00,3:4.50,4:6.00");
        assertThat(DB.status("m1")).isEqualTo("partially_rolled_back");

        RollbackResult rest = DB.reverser().rollback("m1");

        assertThat(rest.method()).isEqualTo(RollbackResult.Method.FROM_LOG);
        assertThat(DB.state(TABLES)).isEqualTo(before);
        assertThat(DB.status("m1")).isEqualTo("rolled_back");
    }

    /** Runs the statements as migration m1, rolls it back, and checks that the plan restored every table. */
    private static void assertRestoredByThePlan(String statements) throws SQLException {
        Map<String, String> before = DB.state(TABLES);
        DB.tagged("m1", statements);

        RollbackResult result = DB.reverser().rollback("m1");

        assertThat(result.method()).isEqualTo(RollbackResult.Method.PLANNED);
        assertThat(DB.state(TABLES)).isEqualTo(before);
    }

    /**
     * Rolls migration m1 back, and checks that it is refused for one conflicting row, the one with the key, and
     * changes nothing. Returns that conflict.
     */
    private static Conflict assertRefusedForOneConflict(String key) {
        Map<String, String> current = DB.state(TABLES);

        Throwable thrown = catchThrowable(() -> DB.reverser().rollback("m1"));

        assertThat(thrown).isInstanceOf(ConflictException.class);
        List<Conflict> conflicts = ((ConflictException) thrown).conflicts();
        assertThat(conflicts).hasSize(1);
        assertThat(conflicts.get(0).key()).isEqualTo(key);
        assertThat(DB.state(TABLES)).isEqualTo(current);
        return conflicts.get(0);
    }
}
