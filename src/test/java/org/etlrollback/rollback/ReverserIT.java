package org.etlrollback.rollback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import org.etlrollback.Conflict;
import org.etlrollback.ConflictException;
import org.etlrollback.ConflictPolicy;
import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollbackException;
import org.etlrollback.Reverser;
import org.etlrollback.RollbackOptions;
import org.etlrollback.RollbackResult;
import org.etlrollback.TableState;
import org.etlrollback.TestDatabase;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReverserIT {
    private static final TestDatabase DB = TestDatabase.forClass(ReverserIT.class);
    private static final String[] TABLES = {"shop.customers", "shop.orders"};

    private final Reverser reverser = Reverser.using(DB.dataSource());

    @BeforeEach
    void schema() throws SQLException {
        DB.execute("""
                delete from etl_rollback.checkpoint;
                delete from etl_rollback.statement;
                delete from etl_rollback.migration;
                drop schema if exists shop cascade;
                create schema shop;
                create table shop.customers(id bigint primary key, name text not null, email text unique,
                    balance numeric(12,2), parent_id bigint references shop.customers(id));
                create table shop.orders(id bigint primary key,
                    customer_id bigint references shop.customers(id) on delete cascade,
                    amount numeric(12,2), status text);
                insert into shop.customers select g, 'c' || g, 'c' || g || '@x', g * 1.5, null
                    from generate_series(1, 20) g;
                update shop.customers set parent_id = 1 where id between 2 and 5;
                insert into shop.orders select g, 1 + g % 20, g * 2.25, 'new' from generate_series(1, 40) g;
                select etl_rollback.track('shop.customers');
                select etl_rollback.track('shop.orders');
                """);
    }

    @Test
    void rollbackRestoresEveryTableAfterMixedChanges() throws SQLException {
        Map<String, String> before = state();
        DB.executeTagged("m1", """
                insert into shop.customers select g, 'n' || g, 'n' || g || '@x', 0, null from generate_series(21, 30) g;
                update shop.customers set balance = balance * 1.1 where id <= 10;
                delete from shop.orders where id > 35;
                insert into shop.orders select g, 21 + g % 10, 1, 'new' from generate_series(41, 60) g;
                """);
        assertThat(state()).isNotEqualTo(before);

        RollbackResult result = reverser.rollback("m1", RollbackOptions.defaults().withVerify(true));

        assertThat(result.outcome()).isEqualTo(RollbackResult.Outcome.ROLLED_BACK);
        assertThat(state()).isEqualTo(before);
        assertThat(result.rowsRestored()).isEqualTo(10 + 10 + 5 + 20);
        assertThat(status("m1")).isEqualTo("rolled_back");
        assertThat(DB.dsl().fetchValue("select count(*) from etl_rollback.changes where migration_id = 'rollback:m1'"))
                .isEqualTo(45L);
    }

    @Test
    void manyChangesToOneRowRestoreTheFirstBeforeImage() throws SQLException {
        Map<String, String> before = state();
        DB.executeTagged("m1", """
                update shop.customers set name = 'x' where id = 7;
                delete from shop.orders where customer_id = 7;
                delete from shop.customers where id = 7;
                insert into shop.customers values (7, 'again', 'again@x', 1, null);
                update shop.customers set balance = 99 where id = 7;
                """);
        reverser.rollback("m1", RollbackOptions.defaults().withVerify(true));
        assertThat(state()).isEqualTo(before);
    }

    @Test
    void primaryKeyMovedAwayAndAnotherMovedIntoIt() throws SQLException {
        Map<String, String> before = state();
        DB.executeTagged("m1", """
                update shop.orders set id = 1000 where id = 1;
                update shop.orders set id = 1 where id = 2;
                update shop.orders set id = id + 500 where id between 10 and 20;
                """);
        reverser.rollback("m1", RollbackOptions.defaults().withVerify(true));
        assertThat(state()).isEqualTo(before);
    }

    @Test
    void rollbackRestoresRowsDeletedByCascade() throws SQLException {
        Map<String, String> before = state();
        DB.executeTagged("m1", "delete from shop.customers where id in (6, 7, 8)");
        assertThat(DB.dsl().fetchValue("select count(*) from shop.orders where customer_id in (6, 7, 8)"))
                .isEqualTo(0L);
        reverser.rollback("m1", RollbackOptions.defaults().withVerify(true));
        assertThat(state()).isEqualTo(before);
    }

    @Test
    void selfReferencingTreeReparentedAndPruned() throws SQLException {
        Map<String, String> before = state();
        DB.executeTagged("m1", """
                insert into shop.customers values (100, 'root2', null, 0, null), (101, 'kid', null, 0, 100);
                update shop.customers set parent_id = 100 where id in (2, 3);
                update shop.customers set parent_id = 101 where id = 1;
                delete from shop.orders where customer_id in (4, 5);
                delete from shop.customers where id in (4, 5);
                """);
        reverser.rollback("m1", RollbackOptions.defaults().withVerify(true));
        assertThat(state()).isEqualTo(before);
    }

    @Test
    void uniqueValuesSwappedThroughATemporaryValue() throws SQLException {
        Map<String, String> before = state();
        DB.executeTagged("m1", """
                update shop.customers set email = 'tmp' where id = 1;
                update shop.customers set email = 'c1@x' where id = 2;
                update shop.customers set email = 'c2@x' where id = 1;
                """);
        RollbackResult result = reverser.rollback("m1", RollbackOptions.defaults().withVerify(true));
        assertThat(state()).isEqualTo(before);
        assertThat(result.replayed()).isTrue();
    }

    @Test
    void uniqueValuesShiftedAlongRowsByOneStatement() throws SQLException {
        Map<String, String> before = state();
        // each row takes the email of the one before it: this passes the (not deferrable) unique key only in the
        // order the rows are stored, and its inverse only in the opposite order
        DB.executeTagged("m1", """
                update shop.customers c
                   set email = coalesce((select p.email from shop.customers p
                                          where p.id = c.id - 1 and p.id >= 11), 'first@x')
                 where id between 11 and 20;
                """);
        RollbackResult result = reverser.rollback("m1", RollbackOptions.defaults().withVerify(true));
        assertThat(state()).isEqualTo(before);
        assertThat(result.replayed()).isTrue();
    }

    @Test
    void rowWhoseMovedKeyWasTruncatedWithItsParentIsNotReportedRestored() throws SQLException {
        DB.executeTagged("m1", "update shop.orders set id = 1000 where id = 1");
        DB.execute("truncate shop.customers cascade");
        Map<String, String> current = state();

        // order 1 needs its customer back, which no order of the set-based statements can give it; the replay of the
        // key move finds no order 1000 to move back: a failure, where it used to report the row restored
        assertThatThrownBy(() -> reverser.rollback("m1"))
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.FAILED))
                .hasMessageContaining("violates foreign key constraint")
                .hasMessageContaining("does not restore every row (1 row(s) of shop.orders differ")
                .hasMessageContaining("Nothing was changed");
        assertThat(state()).isEqualTo(current);
        assertThat(status("m1")).isEqualTo("active");
    }

    @Test
    void deletedRowsUniqueValueTakenByAnInsertedRow() throws SQLException {
        Map<String, String> before = state();
        DB.executeTagged("m1", """
                delete from shop.orders where customer_id = 9;
                delete from shop.customers where id = 9;
                insert into shop.customers values (200, 'new9', 'c9@x', 0, null);
                """);
        reverser.rollback("m1", RollbackOptions.defaults().withVerify(true));
        assertThat(state()).isEqualTo(before);
    }

    @Test
    void truncateIsRolledBack() throws SQLException {
        Map<String, String> before = state();
        DB.executeTagged("m1", "truncate shop.orders");
        reverser.rollback("m1", RollbackOptions.defaults().withVerify(true));
        assertThat(state()).isEqualTo(before);
    }

    @Test
    void otherMigrationsRowsStay() throws SQLException {
        DB.executeTagged("m1", "update shop.customers set balance = 1 where id <= 5");
        DB.executeTagged("m2", "update shop.customers set balance = 2 where id between 6 and 10");
        String afterM2Only = customersAfter("update shop.customers set balance = 2 where id between 6 and 10");
        reverser.rollback("m1");
        assertThat(TableState.rows(DB.dsl(), "shop.customers")).isEqualTo(afterM2Only);
    }

    @Test
    void conflictAbortsAndChangesNothing() throws SQLException {
        DB.executeTagged("m1", "update shop.customers set balance = 1 where id <= 5");
        DB.executeTagged("m2", "update shop.customers set balance = 2 where id = 3");
        DB.execute("update shop.customers set name = 'untagged' where id = 4");
        Map<String, String> current = state();

        assertThatThrownBy(() -> reverser.rollback("m1"))
                .isInstanceOfSatisfying(ConflictException.class, e -> {
                    assertThat(e.errorCode()).isEqualTo(ErrorCode.CONFLICT);
                    assertThat(e.conflicts()).hasSize(2);
                    assertThat(e.conflicts()).anySatisfy(c -> {
                        assertThat(c.key()).isEqualTo("{\"id\": 3}");
                        assertThat(c.laterMigrations()).containsExactly("m2");
                        assertThat(c.table()).isEqualTo("shop.customers");
                    });
                    assertThat(e.conflicts()).anySatisfy(c -> {
                        assertThat(c.key()).isEqualTo("{\"id\": 4}");
                        assertThat(c.untagged()).isTrue();
                    });
                });
        assertThat(state()).isEqualTo(current);
        assertThat(status("m1")).isEqualTo("active");
    }

    @Test
    void laterMigrationsOfAConflictAreListedOldestFirst() throws SQLException {
        DB.executeTagged("m1", "delete from shop.customers where id = 7");
        // m2's change reaches key 7 through its after-image only, m3's through both images
        DB.executeTagged("m2", "insert into shop.customers values (7, 'again', null, 0, null)");
        DB.executeTagged("m3", "update shop.customers set name = 'changed' where id = 7");

        assertThatThrownBy(() -> reverser.rollback("m1"))
                .isInstanceOfSatisfying(ConflictException.class, e -> assertThat(e.conflicts())
                        .singleElement()
                        .satisfies(c -> assertThat(c.laterMigrations()).containsExactly("m2", "m3")));
    }

    @Test
    void skipLeavesConflictingRows() throws SQLException {
        DB.executeTagged("m1", "update shop.customers set balance = 1 where id <= 5");
        DB.executeTagged("m2", "update shop.customers set balance = 2 where id = 3");
        RollbackResult result = reverser.rollback("m1",
                RollbackOptions.defaults().withOnConflict(ConflictPolicy.SKIP).withVerify(true));
        assertThat(result.outcome()).isEqualTo(RollbackResult.Outcome.PARTIALLY_ROLLED_BACK);
        assertThat(DB.dsl().fetchValue("select string_agg(balance::text, ',' order by id) from shop.customers"
                + " where id <= 5")).isEqualTo("1.50,3.00,2.00,6.00,7.50");
        assertThat(status("m1")).isEqualTo("partially_rolled_back");
    }

    @Test
    void forceOverwritesLaterChanges() throws SQLException {
        Map<String, String> before = state();
        DB.executeTagged("m1", "update shop.customers set balance = 1 where id <= 5");
        DB.executeTagged("m2", "update shop.customers set balance = 2 where id = 3");
        reverser.rollback("m1", RollbackOptions.defaults().withOnConflict(ConflictPolicy.FORCE).withVerify(true));
        assertThat(state()).isEqualTo(before);
    }

    @Test
    void cascadeRollsBackLaterMigrationsFirst() throws SQLException {
        Map<String, String> before = state();
        DB.executeTagged("m1", "update shop.customers set balance = 1 where id <= 5");
        DB.executeTagged("m2", "update shop.customers set balance = 2 where id = 3");
        DB.executeTagged("m3", "update shop.customers set name = 'm3' where id = 3");
        RollbackResult result = reverser.rollback("m1",
                RollbackOptions.defaults().withOnConflict(ConflictPolicy.CASCADE).withVerify(true));
        assertThat(result.cascaded()).containsExactly("m3", "m2");
        assertThat(state()).isEqualTo(before);
        assertThat(status("m2")).isEqualTo("rolled_back");
        assertThat(status("m3")).isEqualTo("rolled_back");
    }

    @Test
    void aConflictNamesAnUntaggedWriteBesideTheLaterMigrations() throws SQLException {
        DB.executeTagged("m1", "update shop.customers set name = 'm1' where id in (1, 2, 3)");
        DB.executeTagged("m2", "update shop.customers set name = 'm2' where id in (1, 2, 3)");
        // by hand, with no migration id: on row 1 after m2, on row 2 between m1 and m2 (m3 finds it changed)
        DB.execute("update shop.customers set balance = 0 where id in (1, 2)");
        DB.executeTagged("m3", "update shop.customers set name = 'm3' where id = 2");

        assertThatThrownBy(() -> reverser.rollback("m1"))
                .isInstanceOfSatisfying(ConflictException.class, e -> assertThat(e.result().conflicts())
                        .extracting(Conflict::key, Conflict::laterMigrations, Conflict::untagged)
                        .containsExactly(
                                tuple("{\"id\": 1}", List.of("m2"), true),
                                tuple("{\"id\": 2}", List.of("m2", "m3"), true),
                                tuple("{\"id\": 3}", List.of("m2"), false)));

        // the cascade rolls m3 and m2 back, and then meets the untagged write
        assertThatThrownBy(() -> reverser.rollback("m1", RollbackOptions.defaults()
                .withOnConflict(ConflictPolicy.CASCADE))).isInstanceOf(ConflictException.class);
        assertThat(status("m2")).isEqualTo("active");
    }

    @Test
    void cascadeRollsBackTheMigrationsBehindConflictsBeyondThoseListed() throws SQLException {
        DB.execute("insert into shop.customers select g, 'c' || g, null, 0, null from generate_series(1001, "
                + (1000 + RollbackResult.CONFLICTS_LISTED) + ") g");
        Map<String, String> before = state();
        // m1's first statement fills the listing of conflicts; the row of its second comes after them
        DB.executeTagged("m1", """
                update shop.customers set balance = 1 where id > 1000;
                update shop.customers set balance = 1 where id = 1;
                """);
        DB.executeTagged("m2", "update shop.customers set balance = 2 where id > 1000");
        DB.executeTagged("m3", "update shop.customers set balance = 3 where id = 1");

        RollbackResult result = reverser.rollback("m1",
                RollbackOptions.defaults().withOnConflict(ConflictPolicy.CASCADE).withVerify(true));

        assertThat(result.outcome()).isEqualTo(RollbackResult.Outcome.ROLLED_BACK);
        assertThat(result.cascaded()).containsExactlyInAnyOrder("m2", "m3");
        assertThat(state()).isEqualTo(before);
        assertThat(status("m2")).isEqualTo("rolled_back");
        assertThat(status("m3")).isEqualTo("rolled_back");
    }

    @Test
    void rowALaterMigrationPutBackIsAConflictSinceRollingThatBackWouldUndoItAgain() throws SQLException {
        Map<String, String> before = state();
        DB.executeTagged("m1", """
                insert into shop.customers values (300, 'm1', null, 0, null);
                update shop.customers set name = 'm1' where id = 1;
                """);
        DB.executeTagged("m2", """
                delete from shop.customers where id = 300;
                update shop.customers set name = 'c1' where id = 1;
                update shop.customers set balance = 0 where id = 2;
                """);

        assertThatThrownBy(() -> reverser.rollback("m1"))
                .isInstanceOfSatisfying(ConflictException.class, e -> {
                    assertThat(e.result().conflictCount()).isEqualTo(2);
                    assertThat(e.result().conflicts()).allSatisfy(c -> assertThat(c.laterMigrations())
                            .containsExactly("m2"));
                });
        assertThat(status("m1")).isEqualTo("active");

        RollbackResult result = reverser.rollback("m1",
                RollbackOptions.defaults().withOnConflict(ConflictPolicy.CASCADE).withVerify(true));

        assertThat(result.cascaded()).containsExactly("m2");
        assertThat(state()).isEqualTo(before);
    }

    @Test
    void rowAWriteWithNoMigrationIdPutBackAfterALaterMigrationIsDone() throws SQLException {
        Map<String, String> before = state();
        DB.executeTagged("m1", """
                update shop.customers set name = 'm1' where id = 1;
                insert into shop.customers values (300, 'm1', null, 0, null);
                """);
        DB.executeTagged("m2", """
                update shop.customers set name = 'm2' where id = 1;
                update shop.customers set name = 'm2' where id = 300;
                """);
        // by hand, with no migration id: m2's rollback would now find its rows changed since, not restore m1's
        DB.execute("""
                update shop.customers set name = 'c1' where id = 1;
                delete from shop.customers where id = 300;
                """);

        RollbackResult result = reverser.rollback("m1", RollbackOptions.defaults().withVerify(true));

        assertThat(result.outcome()).isEqualTo(RollbackResult.Outcome.ROLLED_BACK);
        assertThat(result.conflictCount()).isZero();
        assertThat(state()).isEqualTo(before);
    }

    @Test
    void keyALaterMigrationMovedBackIsAConflict() throws SQLException {
        Map<String, String> before = state();
        DB.executeTagged("m1", "update shop.orders set id = 100 where id = 1");
        DB.executeTagged("m2", "update shop.orders set id = 1 where id = 100");

        assertThatThrownBy(() -> reverser.rollback("m1"))
                .isInstanceOfSatisfying(ConflictException.class, e -> {
                    // the key m1 moved the row out of, and the one it moved it into: m2 took both over
                    assertThat(e.result().conflicts()).extracting(c -> c.key())
                            .containsExactlyInAnyOrder("{\"id\": 1}", "{\"id\": 100}");
                    assertThat(e.result().conflicts()).allSatisfy(c -> assertThat(c.laterMigrations())
                            .containsExactly("m2"));
                });

        RollbackResult result = reverser.rollback("m1",
                RollbackOptions.defaults().withOnConflict(ConflictPolicy.CASCADE).withVerify(true));
        assertThat(result.cascaded()).containsExactly("m2");
        assertThat(state()).isEqualTo(before);
    }

    @Test
    void rowsAnEarlierPartialRollbackRestoredAreDoneNotConflicts() throws SQLException {
        Map<String, String> before = state();
        DB.executeTagged("m1", "update shop.customers set balance = 1 where id <= 5");
        DB.executeTagged("m2", "update shop.customers set balance = 2 where id = 3");
        reverser.rollback("m1", RollbackOptions.defaults().withOnConflict(ConflictPolicy.SKIP));
        reverser.rollback("m2");

        RollbackResult rest = reverser.rollback("m1", RollbackOptions.defaults().withVerify(true));

        assertThat(rest.conflictCount()).isZero();
        assertThat(rest.tables()).singleElement().satisfies(t -> {
            assertThat(t.updated()).isEqualTo(1);
            assertThat(t.unchanged()).isEqualTo(4);
        });
        assertThat(state()).isEqualTo(before);
    }

    @Test
    void cascadeDryRunShowsTheCascadeAndThePlanAfterItAndChangesNothing() throws SQLException {
        DB.executeTagged("m1", "update shop.customers set balance = 1 where id <= 5");
        DB.executeTagged("m2", """
                update shop.customers set balance = 2 where id = 3;
                insert into shop.customers values (500, 'm2', null, 0, null);
                """);
        Map<String, String> current = state();

        RollbackResult result = reverser.rollback("m1",
                RollbackOptions.defaults().withOnConflict(ConflictPolicy.CASCADE).withDryRun(true));

        assertThat(result.outcome()).isEqualTo(RollbackResult.Outcome.DRY_RUN);
        assertThat(result.cascaded()).containsExactly("m2");
        assertThat(result.conflictCount()).isZero();
        assertThat(result.tables()).singleElement().satisfies(t -> assertThat(t.updated()).isEqualTo(5));
        assertThat(state()).isEqualTo(current);
        assertThat(status("m1")).isEqualTo("active");
        assertThat(status("m2")).isEqualTo("active");
        assertThat(DB.dsl().fetchValue("select count(*) from etl_rollback.migrations"
                + " where migration_id like 'rollback:%'")).isEqualTo(0L);
    }

    @Test
    void scriptOfARollbackThatCascadesIsRefused(@TempDir Path dir) throws SQLException {
        DB.executeTagged("m1", "update shop.customers set balance = 1 where id <= 5");
        DB.executeTagged("m2", "update shop.customers set balance = 2 where id = 3");
        Map<String, String> current = state();
        Path script = dir.resolve("rollback.sql");

        for (boolean dryRun : new boolean[] {true, false}) {
            assertThatThrownBy(() -> reverser.rollback("m1", RollbackOptions.defaults()
                    .withOnConflict(ConflictPolicy.CASCADE).withDryRun(dryRun).withSqlFile(script)))
                    .isInstanceOfSatisfying(EtlRollbackException.class,
                            e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.FAILED))
                    .hasMessageContaining("the cascade rolls back m2 first")
                    .hasMessageContaining("Nothing was changed.");
        }
        assertThat(script).doesNotExist();
        assertThat(state()).isEqualTo(current);
        assertThat(status("m2")).isEqualTo("active");
    }

    @Test
    void refusedDryRunSaysItWroteNoScript(@TempDir Path dir) throws SQLException {
        DB.executeTagged("m1", "update shop.customers set balance = 1 where id <= 5");
        DB.executeTagged("m2", "update shop.customers set balance = 2 where id = 3");
        Path script = dir.resolve("rollback.sql");

        RollbackResult result = reverser.rollback("m1", RollbackOptions.defaults().withDryRun(true)
                .withSqlFile(script));

        assertThat(result.conflictCount()).isEqualTo(1);
        assertThat(script).doesNotExist();
        assertThat(result.warnings()).containsExactly("no SQL script was written to " + script
                + ": the rollback is refused for its conflicts");
    }

    @Test
    void toCheckpointUndoesOnlyWhatCameAfter() throws SQLException {
        DB.executeTagged("m1", """
                update shop.customers set balance = 1 where id <= 5;
                select etl_rollback.checkpoint('half');
                update shop.customers set balance = 2 where id <= 3;
                insert into shop.customers values (300, 'late', null, 0, null);
                """);
        String atCheckpoint = customersAfter("update shop.customers set balance = 1 where id <= 5");
        RollbackResult result = reverser.rollback("m1", RollbackOptions.defaults().withToCheckpoint("half"));
        assertThat(result.outcome()).isEqualTo(RollbackResult.Outcome.PARTIALLY_ROLLED_BACK);
        assertThat(TableState.rows(DB.dsl(), "shop.customers")).isEqualTo(atCheckpoint);
        assertThat(status("m1")).isEqualTo("partially_rolled_back");
    }

    @Test
    void dryRunChangesNothing() throws SQLException {
        DB.executeTagged("m1", "update shop.customers set balance = 1 where id <= 5; delete from shop.orders where id = 1");
        Map<String, String> current = state();
        RollbackResult result = reverser.rollback("m1", RollbackOptions.defaults().withDryRun(true));
        assertThat(result.outcome()).isEqualTo(RollbackResult.Outcome.DRY_RUN);
        assertThat(result.tables()).anySatisfy(t -> {
            assertThat(t.table()).isEqualTo("shop.customers");
            assertThat(t.updated()).isEqualTo(5);
        });
        assertThat(result.tables()).anySatisfy(t -> {
            assertThat(t.table()).isEqualTo("shop.orders");
            assertThat(t.inserted()).isEqualTo(1);
        });
        assertThat(state()).isEqualTo(current);
        assertThat(status("m1")).isEqualTo("active");
    }

    @Test
    void sqlScriptAppliedByHandRestoresTheState(@TempDir Path dir) throws Exception {
        Map<String, String> before = state();
        DB.executeTagged("m1", """
                insert into shop.customers values (400, 'q''uote', null, 0, null);
                update shop.customers set balance = 1, name = 'é' where id <= 5;
                delete from shop.orders where id < 4;
                """);
        Path script = dir.resolve("rollback.sql");
        reverser.rollback("m1", RollbackOptions.defaults().withDryRun(true).withSqlFile(script));
        String text = Files.readString(script);
        assertThat(text).contains("DELETE FROM", "UPDATE", "INSERT INTO", "COMMIT;");
        try (Connection c = DB.connect(); Statement s = c.createStatement()) {
            s.execute(text.replace("\\set ON_ERROR_STOP on\n", ""));
        }
        assertThat(state()).isEqualTo(before);
        assertThat(status("m1")).isEqualTo("rolled_back");
    }

    @Test
    void rollingBackTwiceIsANoOpAndUndoingTheRollbackRestoresTheMigration() throws SQLException {
        DB.executeTagged("m1", "update shop.customers set balance = 1 where id <= 5");
        Map<String, String> afterM1 = state();
        reverser.rollback("m1");
        Map<String, String> afterRollback = state();

        RollbackResult again = reverser.rollback("m1");
        assertThat(again.outcome()).isEqualTo(RollbackResult.Outcome.ALREADY_ROLLED_BACK);
        assertThat(state()).isEqualTo(afterRollback);

        reverser.rollback("rollback:m1", RollbackOptions.defaults().withVerify(true));
        assertThat(state()).isEqualTo(afterM1);
        assertThat(status("m1")).isEqualTo("active");
    }

    @Test
    void columnAddedWithoutTrackingAgainIsRefused() throws SQLException {
        DB.execute("alter table shop.customers add column tier text default 'basic'");
        DB.executeTagged("m1", "update shop.customers set tier = 'gold', balance = 0 where id <= 3");
        Map<String, String> current = state();
        assertThatThrownBy(() -> reverser.rollback("m1"))
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.FAILED))
                .hasMessageContaining("no longer has the columns its log was written with")
                .hasMessageContaining("track the table again");
        assertThat(state()).isEqualTo(current);
    }

    @Test
    void columnLoggedOnlyAfterTheMigrationChangedTheTableIsRefused() throws SQLException {
        DB.execute("alter table shop.customers add column tier text default 'basic'");
        DB.executeTagged("m1", "update shop.customers set tier = 'gold', balance = 0 where id <= 3");
        DB.execute("select etl_rollback.track('shop.customers')");
        DB.executeTagged("m2", "update shop.customers set tier = 'silver' where id = 10");
        Map<String, String> current = state();

        assertThatThrownBy(() -> reverser.rollback("m1"))
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.FAILED))
                .hasMessageContaining("[tier]")
                .hasMessageContaining("Nothing was changed");
        assertThat(state()).isEqualTo(current);

        reverser.rollback("m2", RollbackOptions.defaults().withVerify(true));
        assertThat(DB.dsl().fetchValue("select tier from shop.customers where id = 10")).isEqualTo("basic");
    }

    @Test
    void typeDroppedWithCascadeLeavesTrackingAndTheRestOfTheLogWorking() throws SQLException {
        DB.execute("""
                create type shop.mood as enum ('ok', 'sad');
                alter table shop.customers add column mood shop.mood;
                select etl_rollback.track('shop.customers');
                """);
        DB.executeTagged("m1", "update shop.customers set balance = 0, mood = 'sad' where id <= 3");
        DB.execute("drop type shop.mood cascade");

        assertThatThrownBy(() -> reverser.rollback("m1"))
                .isInstanceOf(EtlRollbackException.class)
                .hasMessageContaining("track the table again");
        DB.execute("""
                create table shop.extra (id int primary key);
                select etl_rollback.track('shop.extra');
                select etl_rollback.track('shop.customers');
                """);
        assertThat(DB.dsl().fetchValue("select count(*) from etl_rollback.changes where migration_id = 'm1'"))
                .isEqualTo(3L);

        reverser.rollback("m1", RollbackOptions.defaults().withVerify(true));
        assertThat(TableState.rows(DB.dsl(), "shop.customers")).isEqualTo(customersAfter("select 1"));
    }

    @Test
    void unknownMigrationIsAnError() {
        assertThatThrownBy(() -> reverser.rollback("nope"))
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.FAILED))
                .hasMessageContaining("unknown migration id nope");
    }

    private Map<String, String> state() {
        return TableState.of(DB.dsl(), TABLES);
    }

    /** The rows shop.customers would have if only the given statements had run after the seed data. */
    private static String customersAfter(String statements) throws SQLException {
        try (Connection c = DB.connect(); Statement s = c.createStatement()) {
            s.execute("""
                    drop schema if exists scratch cascade;
                    create schema scratch;
                    create table scratch.customers (like shop.customers);
                    insert into scratch.customers select g, 'c' || g, 'c' || g || '@x', g * 1.5, null
                        from generate_series(1, 20) g;
                    update scratch.customers set parent_id = 1 where id between 2 and 5;
                    """);
            s.execute(statements.replace("shop.customers", "scratch.customers"));
        }
        return TableState.rows(DB.dsl(), "scratch.customers");
    }

    private static String status(String id) {
        return DB.dsl().resultQuery("select status from etl_rollback.migrations where migration_id = ?", id)
                .fetchSingle(0, String.class);
    }
}
