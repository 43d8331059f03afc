package org.etlrollback.rollback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.etlrollback.ConflictPolicy;
import org.etlrollback.RollbackOptions;
import org.etlrollback.RollbackResult;
import org.etlrollback.TestDatabase;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A rollback over time: the progress it reports, the log of its own changes and undoing it, rolling back
 * again, and rolling back to checkpoints one after the other.
 */
class RollbackLifecycleIT {
    private static final Scenario DB = new Scenario(TestDatabase.forClass(RollbackLifecycleIT.class));
    private static final String[] TABLES = {"life.customers", "life.orders"};

    @BeforeEach
    void schema() throws SQLException {
        DB.forgetMigrations();
        DB.sql("""
                drop schema if exists life cascade;
                create schema life;
                create table life.customers (id int primary key, name text not null, email text unique,
                    balance numeric(12,2));
                create table life.orders (id int primary key,
                    customer_id int not null references life.customers on delete cascade, amount numeric(12,2));
                insert into life.customers select g, 'c' || g, 'c' || g || '@x', g * 1.5 from generate_series(1, 50) g;
                insert into life.orders select g, 1 + g % 50, g * 2.25 from generate_series(1, 100) g;
                select etl_rollback.track('life.customers');
                select etl_rollback.track('life.orders');
                """);
    }

    /** One call of the progress callback. */
    private record Progress(String step, long done, long planned) {
    }

    @Test
    void progressEndsAtRowsPlannedAndNeverExceedsThem() throws SQLException {
        DB.tagged("m1", """
                insert into life.customers select g, 'n' || g, null, 0 from generate_series(51, 60) g;
                update life.customers set balance = 0 where id <= 20;
                delete from life.orders where id > 90;
                insert into life.orders select g, 55, 1 from generate_series(101, 130) g;
                """);
        List<Progress> calls = new ArrayList<>();

        RollbackResult result = DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true)
                .withProgress((step, done, planned) -> calls.add(new Progress(step, done, planned))));

        assertThat(result.rowsRestored()).isEqualTo(10 + 20 + 10 + 30);
        assertProgress(calls, result);
        assertThat(calls).extracting(Progress::done).isSorted();
        assertThat(calls).extracting(Progress::step)
                .contains("delete life.customers", "update life.customers", "insert life.orders");
    }

    @Test
    void progressOfAnOrderThatHadToBeAbandonedEndsAtRowsPlanned() throws SQLException {
        // deleting the inserted customer first would cascade to the order moved onto it: that order is abandoned
        DB.tagged("m1", """
                insert into life.customers values (100, 'new', null, 0);
                update life.orders set customer_id = 100 where id in (1, 2, 3);
                """);
        List<Progress> calls = new ArrayList<>();

        RollbackResult result = DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true)
                .withProgress((step, done, planned) -> calls.add(new Progress(step, done, planned))));

        assertThat(result.replayed()).isFalse();
        assertProgress(calls, result);
    }

    @Test
    void progressOfAReplayEndsAtRowsPlannedAndNeverExceedsThem() throws SQLException {
        DB.tagged("m1", """
                update life.customers set email = 'tmp' where id = 1;
                update life.customers set email = 'c1@x' where id = 2;
                update life.customers set email = 'c2@x' where id = 1;
                update life.customers set balance = 0 where id between 1 and 3;
                """);
        List<Progress> calls = new ArrayList<>();

        RollbackResult result = DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true)
                .withProgress((step, done, planned) -> calls.add(new Progress(step, done, planned))));

        assertThat(result.replayed()).isTrue();
        assertProgress(calls, result);
    }

    private static void assertProgress(List<Progress> calls, RollbackResult result) {
        assertThat(calls).isNotEmpty();
        assertThat(calls).allSatisfy(p -> {
            assertThat(p.planned()).isEqualTo(result.rowsRestored());
            assertThat(p.done()).isBetween(0L, p.planned());
        });
        assertThat(calls.get(calls.size() - 1).done()).isEqualTo(result.rowsRestored());
    }

    @Test
    void rollbackIsLoggedUnderItsOwnIdAndCanBeUndoneAndDoneAgain() throws SQLException {
        Map<String, String> before = DB.state(TABLES);
        DB.tagged("m1", """
                insert into life.customers values (100, 'new', null, 0), (101, 'new too', null, 0);
                update life.customers set balance = -1 where id between 1 and 3;
                delete from life.orders where id in (10, 20);
                """);
        Map<String, String> afterM1 = DB.state(TABLES);

        RollbackResult first = DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true));

        assertThat(first.rollbackId()).isEqualTo("rollback:m1");
        assertThat(DB.state(TABLES)).isEqualTo(before);
        assertThat(DB.text("""
                select string_agg(op || ' ' || table_name || ' ' || pk::text, ', ' order by table_name, op, pk::text)
                  from etl_rollback.changes where migration_id = 'rollback:m1'""")).isEqualTo(
                "DELETE life.customers {\"id\": 100}, DELETE life.customers {\"id\": 101}, "
                        + "UPDATE life.customers {\"id\": 1}, UPDATE life.customers {\"id\": 2}, "
                        + "UPDATE life.customers {\"id\": 3}, "
                        + "INSERT life.orders {\"id\": 10}, INSERT life.orders {\"id\": 20}");
        assertThat(DB.text("select old_row ->> 'balance' || ' ' || (new_row ->> 'balance')"
                + " from etl_rollback.changes where migration_id = 'rollback:m1' and pk = '{\"id\": 2}'"))
                .isEqualTo("-1.00 3.00");
        assertThat(DB.text("select rollback_of from etl_rollback.migrations where migration_id = 'rollback:m1'"))
                .isEqualTo("m1");
        assertThat(DB.status("rollback:m1")).isEqualTo("active");

        RollbackResult undo = DB.reverser().rollback("rollback:m1", RollbackOptions.defaults().withVerify(true));

        assertThat(undo.rollbackId()).isEqualTo("rollback:rollback:m1");
        assertThat(DB.state(TABLES)).isEqualTo(afterM1);
        assertThat(DB.status("m1")).isEqualTo("active");
        assertThat(DB.status("rollback:m1")).isEqualTo("rolled_back");

        RollbackResult second = DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true));

        assertThat(second.outcome()).isEqualTo(RollbackResult.Outcome.ROLLED_BACK);
        assertThat(second.rollbackId()).isEqualTo("rollback:m1#2");
        assertThat(DB.state(TABLES)).isEqualTo(before);
        assertThat(DB.status("m1")).isEqualTo("rolled_back");
        assertThat(DB.count("select count(*) from etl_rollback.changes where migration_id = 'rollback:m1#2'"))
                .isEqualTo(7);
    }

    @Test
    void rollingBackToCheckpointsOneAfterTheOtherEndsBeforeTheMigration() throws SQLException {
        Map<String, String> before = DB.state(TABLES);
        Map<String, String> atA = runUpToA();
        Map<String, String> atB = runUpToB();
        runAfterB();

        RollbackResult toB = DB.reverser().rollback("m1",
                RollbackOptions.defaults().withVerify(true).withToCheckpoint("b"));
        assertThat(toB.outcome()).isEqualTo(RollbackResult.Outcome.PARTIALLY_ROLLED_BACK);
        assertThat(DB.state(TABLES)).isEqualTo(atB);
        assertThat(DB.status("m1")).isEqualTo("partially_rolled_back");

        DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true).withToCheckpoint("a"));
        assertThat(DB.state(TABLES)).isEqualTo(atA);

        RollbackResult full = DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true));
        assertThat(full.outcome()).isEqualTo(RollbackResult.Outcome.ROLLED_BACK);
        assertThat(DB.state(TABLES)).isEqualTo(before);
        assertThat(DB.status("m1")).isEqualTo("rolled_back");
    }

    @Test
    void fullRollbackAfterACheckpointRollbackEndsBeforeTheMigration() throws SQLException {
        Map<String, String> before = DB.state(TABLES);
        Map<String, String> atA = runUpToA();
        runUpToB();
        runAfterB();

        DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true).withToCheckpoint("a"));
        assertThat(DB.state(TABLES)).isEqualTo(atA);

        DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true));
        assertThat(DB.state(TABLES)).isEqualTo(before);
    }

    @Test
    void undoingTheLaterOfTwoRollbacksLeavesTheMigrationPartlyRolledBack() throws SQLException {
        Map<String, String> before = DB.state(TABLES);
        Map<String, String> atA = runUpToA();
        runUpToB();
        runAfterB();
        DB.reverser().rollback("m1", RollbackOptions.defaults().withToCheckpoint("a"));
        RollbackResult rest = DB.reverser().rollback("m1");
        assertThat(DB.state(TABLES)).isEqualTo(before);

        DB.reverser().rollback(rest.rollbackId());

        // what the first rollback undid stays undone: the migration is partly rolled back, not back in force
        assertThat(DB.state(TABLES)).isEqualTo(atA);
        assertThat(DB.status("m1")).isEqualTo("partially_rolled_back");
        assertThat(DB.reverser().rollback("m1", RollbackOptions.defaults().withToCheckpoint("a")).rowsRestored())
                .isZero();
        // the part the first rollback undid is known again: a full rollback reads only the rest, with no conflict
        RollbackResult again = DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true));
        assertThat(again.outcome()).isEqualTo(RollbackResult.Outcome.ROLLED_BACK);
        assertThat(again.conflictCount()).isZero();
        assertThat(DB.state(TABLES)).isEqualTo(before);
        assertThat(DB.status("m1")).isEqualTo("rolled_back");
    }

    @Test
    void undoingTheMiddleOfThreeRollbacksLeavesItsPartToTheNextRollback() throws SQLException {
        Map<String, String> before = DB.state(TABLES);
        DB.tagged("m1", """
                update life.customers set name = 'before a' where id = 1;
                select etl_rollback.checkpoint('a');
                update life.customers set name = 'between a and b' where id = 2;
                select etl_rollback.checkpoint('b');
                update life.customers set name = 'after b' where id = 3;
                """);
        DB.reverser().rollback("m1", RollbackOptions.defaults().withToCheckpoint("b"));
        String toA = DB.reverser().rollback("m1", RollbackOptions.defaults().withToCheckpoint("a")).rollbackId();
        DB.reverser().rollback("m1");
        assertThat(DB.status("m1")).isEqualTo("rolled_back");

        DB.reverser().rollback(toA);

        // what m1 changed between a and b is back in force; before a and after b it stays undone
        assertThat(DB.status("m1")).isEqualTo("partially_rolled_back");
        RollbackResult again = DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true));
        assertThat(again.conflictCount()).isZero();
        assertThat(again.rowsRestored()).isPositive();
        assertThat(DB.state(TABLES)).isEqualTo(before);
        assertThat(DB.status("m1")).isEqualTo("rolled_back");
    }

    @Test
    void undoingARollbackPutsItsChangesBackEvenWhereAnOlderRollbackIsInForceAgain() throws SQLException {
        Map<String, String> before = DB.state(TABLES);
        DB.tagged("m1", """
                insert into life.customers values (100, 'new', null, 0);
                update life.customers set balance = -1 where id in (1, 2);
                delete from life.orders where id = 5;
                """);
        Map<String, String> afterM1 = DB.state(TABLES);
        DB.reverser().rollback("m1");
        DB.reverser().rollback("rollback:m1");
        String second = DB.reverser().rollback("m1").rollbackId();
        // rollback:m1 back in force: its rows are undone already, by the second rollback
        DB.reverser().rollback("rollback:rollback:m1");
        assertThat(DB.state(TABLES)).isEqualTo(before);

        DB.reverser().rollback(second);

        assertThat(DB.state(TABLES)).isEqualTo(afterM1);
        assertThat(DB.status("m1")).isEqualTo("active");
        DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true));
        assertThat(DB.state(TABLES)).isEqualTo(before);
    }

    @Test
    void onlyTheRollbackItselfWritesUnderItsId() throws SQLException {
        DB.tagged("m1", "update life.customers set balance = -1 where id in (1, 2)");
        DB.reverser().rollback("m1");
        Map<String, String> rolledBack = DB.state(TABLES);

        assertThatThrownBy(() -> DB.tagged("rollback:m1", "update life.customers set balance = 7 where id = 3"))
                .hasMessageContaining("'rollback:m1' is the id of a rollback, which only that rollback writes under");
        assertThatThrownBy(() -> DB.tagged("rollback:m1", "select etl_rollback.checkpoint('late')"))
                .hasMessageContaining("is the id of a rollback");

        assertThat(DB.state(TABLES)).isEqualTo(rolledBack);
        assertThat(DB.count("select count(*) from etl_rollback.changes where migration_id = 'rollback:m1'"))
                .isEqualTo(2);
        // its own changes can still be undone
        DB.reverser().rollback("rollback:m1");
        assertThat(DB.status("m1")).isEqualTo("active");
    }

    @Test
    void undoingEachRollbackInAChainSetsTheMigrationsStatusByWhatIsInForce() throws SQLException {
        Map<String, String> before = DB.state(TABLES);
        DB.tagged("m1", """
                insert into life.customers values (100, 'new', null, 0);
                update life.customers set balance = -1 where id in (1, 2);
                """);
        Map<String, String> afterM1 = DB.state(TABLES);
        DB.reverser().rollback("m1");
        List<String> statuses = new ArrayList<>();
        List<Map<String, String>> states = new ArrayList<>();
        String undo = "rollback:m1";
        for (int i = 0; i < 4; i++) {
            undo = DB.reverser().rollback(undo, RollbackOptions.defaults().withVerify(true)).rollbackId();
            statuses.add(DB.status("m1"));
            states.add(DB.state(TABLES));
        }

        // each undo takes the one before it out of force, or puts it back: m1 is back, undone, back, undone
        assertThat(statuses).containsExactly("active", "rolled_back", "active", "rolled_back");
        assertThat(states).containsExactly(afterM1, before, afterM1, before);
        assertThat(DB.status("rollback:m1")).isEqualTo("active");
        assertThat(DB.reverser().rollback("m1").outcome()).isEqualTo(RollbackResult.Outcome.ALREADY_ROLLED_BACK);
        assertThatThrownBy(() -> DB.tagged("m1", "update life.customers set balance = 5 where id = 3"))
                .hasMessageContaining("has been rolled back");
    }

    @Test
    void conflictAfterTheMigrationWasRolledBackAndBackIsPutDownToTheUntaggedWriteNotToItsRollbacks()
            throws SQLException {
        DB.tagged("m1", "update life.customers set balance = -1 where id in (1, 2)");
        DB.reverser().rollback("m1");
        DB.reverser().rollback("rollback:m1");
        DB.sql("update life.customers set name = 'untagged' where id = 1");

        RollbackResult result = DB.reverser().rollback("m1", RollbackOptions.defaults().withDryRun(true));

        assertThat(result.conflicts()).singleElement().satisfies(c -> {
            assertThat(c.key()).isEqualTo("{\"id\": 1}");
            assertThat(c.laterMigrations()).isEmpty();
            assertThat(c.untagged()).isTrue();
        });
    }

    @Test
    void rollbackOfAnUntrackedTableSaysItsChangesThereCannotBeUndone() throws SQLException {
        Map<String, String> before = DB.state(TABLES);
        DB.tagged("m1", """
                update life.customers set balance = 0 where id = 1;
                update life.orders set amount = 0 where id = 1;
                """);
        Map<String, String> afterM1 = DB.state(TABLES);
        DB.sql("select etl_rollback.untrack('life.orders')");

        RollbackResult rollback = DB.reverser().rollback("m1");

        assertThat(DB.state(TABLES)).isEqualTo(before);
        assertThat(rollback.warnings()).containsExactly("life.orders is no longer tracked: the rollback's changes to"
                + " it are not logged, and undoing the rollback cannot restore them");

        RollbackResult undo = DB.reverser().rollback("rollback:m1");

        assertThat(undo.warnings()).containsExactly("life.orders is not tracked and rollback:m1 logged no change to"
                + " it: the rows it restored there stay as they are");
        assertThat(DB.rows("life.customers")).isEqualTo(afterM1.get("life.customers"));
        assertThat(DB.rows("life.orders")).isEqualTo(before.get("life.orders"));
    }

    @Test
    void rollingBackToALaterCheckpointAfterAnEarlierOneChangesNothing() throws SQLException {
        Map<String, String> before = DB.state(TABLES);
        Map<String, String> atA = runUpToA();
        runUpToB();
        runAfterB();
        DB.reverser().rollback("m1", RollbackOptions.defaults().withToCheckpoint("a"));

        DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true).withToCheckpoint("b"));

        assertThat(DB.state(TABLES)).isEqualTo(atA);
        DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true));
        assertThat(DB.state(TABLES)).isEqualTo(before);
    }

    @Test
    void unknownCheckpointIsAnErrorListingTheCheckpoints() throws SQLException {
        runUpToA();
        runUpToB();
        runAfterB();
        Map<String, String> current = DB.state(TABLES);

        Scenario.assertFailed(() -> DB.reverser().rollback("m1", RollbackOptions.defaults().withToCheckpoint("c")))
                .hasMessageContaining("migration m1 has no checkpoint named c; it has a, b. Nothing was changed.");
        assertThat(DB.state(TABLES)).isEqualTo(current);
        assertThat(DB.status("m1")).isEqualTo("active");
        assertThat(DB.migrationExists("rollback:m1")).isFalse();
    }

    private static Map<String, String> runUpToA() throws SQLException {
        DB.tagged("m1", """
                update life.customers set balance = 1 where id <= 5;
                insert into life.customers values (200, 'before a', null, 0);
                delete from life.orders where id = 1;
                select etl_rollback.checkpoint('a');
                """);
        return DB.state(TABLES);
    }

    private static Map<String, String> runUpToB() throws SQLException {
        DB.tagged("m1", """
                insert into life.customers values (300, 'between a and b', null, 0);
                update life.customers set balance = 2, name = 'b' where id <= 3 or id = 200;
                delete from life.orders where id between 2 and 4;
                insert into life.orders values (1000, 300, 1);
                select etl_rollback.checkpoint('b');
                """);
        return DB.state(TABLES);
    }

    private static void runAfterB() throws SQLException {
        DB.tagged("m1", """
                update life.customers set name = 'after b' where id in (1, 10, 300);
                delete from life.customers where id = 200;
                insert into life.orders values (2, 20, 20);
                """);
    }

    @Test
    void cascadeOverRollbacksOfRollbacksEnds() throws SQLException {
        Map<String, String> before = DB.state(TABLES);
        DB.tagged("m1", "insert into life.customers values (100, 'new', null, 1)");
        DB.tagged("m3", "update life.customers set balance = 3 where id = 100");
        RollbackOptions force = RollbackOptions.defaults().withOnConflict(ConflictPolicy.FORCE);
        DB.reverser().rollback("m3", force);
        DB.reverser().rollback("m1", force);
        // both undone again: m1 and m3 are active, and the row is as m3 left it
        DB.reverser().rollback("rollback:m1", force);
        DB.reverser().rollback("rollback:m3", force);

        // undoing rollback:rollback:m3 puts rollback:m3 back in force, which cascades to ... : each migration is
        // rolled back at most once, and the rollbacks the cascade itself logs are not rolled back by it
        RollbackResult result = DB.reverser().rollback("m1",
                RollbackOptions.defaults().withOnConflict(ConflictPolicy.CASCADE).withVerify(true));

        assertThat(result.outcome()).isEqualTo(RollbackResult.Outcome.ROLLED_BACK);
        assertThat(result.cascaded()).doesNotHaveDuplicates();
        assertThat(DB.state(TABLES)).isEqualTo(before);
        assertThat(DB.status("m1")).isEqualTo("rolled_back");
    }
}
