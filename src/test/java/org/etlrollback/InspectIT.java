package org.etlrollback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Optional;

import org.etlrollback.MigrationDetail.Checkpoint;
import org.etlrollback.MigrationDetail.TableChanges;
import org.etlrollback.MigrationSummary.Status;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** list and show through the facade, against migrations made in SQL and one rollback. */
class InspectIT {
    private static final TestDatabase DB = TestDatabase.forClass(InspectIT.class);
    private static final EtlRollback ETL_ROLLBACK = EtlRollback.configure().dataSource(DB.dataSource()).load();

    @BeforeAll
    static void migrations() {
        DB.dsl().execute("""
                CREATE SCHEMA shop;
                CREATE TABLE shop.customers (id int PRIMARY KEY, name text NOT NULL);
                CREATE TABLE shop.orders (id int PRIMARY KEY, customer_id int NOT NULL REFERENCES shop.customers,
                                          amount numeric(10,2));
                CREATE TABLE shop.scratch (id int PRIMARY KEY, note text);
                INSERT INTO shop.customers VALUES (1, 'Ada'), (2, 'Grace');
                INSERT INTO shop.scratch SELECT g, 'n' || g FROM generate_series(1, 4) g;
                SELECT etl_rollback.track('shop.customers');
                SELECT etl_rollback.track('shop.orders');
                SELECT etl_rollback.track('shop.scratch')""");
        DB.dsl().execute("""
                SET etl_rollback.migration_id = 'load_1';
                SET etl_rollback.migration_name = 'first load';
                INSERT INTO shop.customers VALUES (3, 'Edsger'), (4, 'Barbara'), (5, 'Donald');
                SELECT etl_rollback.checkpoint('customers_loaded');
                INSERT INTO shop.orders VALUES (10, 3, 9.50), (11, 4, 12.00);
                UPDATE shop.customers SET name = upper(name) WHERE id = 1;
                DELETE FROM shop.orders WHERE id = 11;
                SELECT etl_rollback.checkpoint('orders_loaded');
                RESET etl_rollback.migration_id;
                RESET etl_rollback.migration_name""");
        DB.dsl().execute("""
                SET etl_rollback.migration_id = 'wipe_scratch';
                TRUNCATE shop.scratch;
                RESET etl_rollback.migration_id""");
        ETL_ROLLBACK.rollback("wipe_scratch", RollbackOptions.defaults());
    }

    @Test
    void listGivesEveryMigrationNewestFirstWithTheViewsFields() {
        List<MigrationSummary> migrations = ETL_ROLLBACK.list();

        assertThat(migrations).extracting(MigrationSummary::migrationId)
                .containsExactly("rollback:wipe_scratch", "wipe_scratch", "load_1");
        MigrationSummary load = migrations.get(2);
        assertThat(load.name()).contains("first load");
        assertThat(load.status()).isEqualTo(Status.ACTIVE);
        assertThat(load.tables()).containsExactly("shop.customers", "shop.orders");
        assertThat(load.rowChanges()).isEqualTo(3 + 2 + 1 + 1);
        assertThat(load.lastChangeAt()).hasValueSatisfying(last -> assertThat(last).isAfter(load.startedAt()));
        assertThat(load.startedAt()).isAtSameInstantAs(fetchTime("SELECT started_at FROM etl_rollback.migrations "
                + "WHERE migration_id = 'load_1'"));
        MigrationSummary wipe = migrations.get(1);
        assertThat(wipe.name()).isEmpty();
        assertThat(wipe.status()).isEqualTo(Status.ROLLED_BACK);
        assertThat(wipe.tables()).containsExactly("shop.scratch");
        assertThat(wipe.rowChanges()).isEqualTo(4);
        MigrationSummary undo = migrations.get(0);
        assertThat(undo.name()).contains("rollback of wipe_scratch");
        assertThat(undo.status()).isEqualTo(Status.ACTIVE);
        assertThat(undo.rowChanges()).isEqualTo(4);
    }

    @Test
    void showCountsEachOperationPerTableAndListsTheCheckpoints() {
        MigrationDetail load = ETL_ROLLBACK.show("load_1");

        assertThat(load.summary()).isEqualTo(ETL_ROLLBACK.list().get(2));
        assertThat(load.startedBy()).isEqualTo(DB.user());
        assertThat(load.rolledBackAt()).isEmpty();
        assertThat(load.rollbackOf()).isEmpty();
        assertThat(load.rollbacks()).isEmpty();
        assertThat(load.tables()).extracting(TableChanges::table, TableChanges::inserts, TableChanges::updates,
                        TableChanges::deletes, TableChanges::truncates)
                .containsExactly(tuple("shop.customers", 3L, 1L, 0L, 0L),
                        tuple("shop.orders", 2L, 0L, 1L, 0L));
        assertThat(load.checkpoints()).extracting(Checkpoint::name)
                .containsExactly("customers_loaded", "orders_loaded");
        assertThat(load.checkpoints()).extracting(Checkpoint::seq).containsExactlyElementsOf(
                DB.dsl().fetch("SELECT seq FROM etl_rollback.checkpoints WHERE migration_id = 'load_1' ORDER BY seq")
                        .getValues(0, Long.class));
    }

    @Test
    void showMeasuresTheMigrationsLogRowsAndTheWholeLogTable() {
        MigrationDetail load = ETL_ROLLBACK.show("load_1");

        for (TableChanges table : load.tables()) {
            String logTable = DB.dsl().fetchValue("SELECT log_table FROM etl_rollback.tracked_tables WHERE table_name = ?",
                    table.table()).toString();
            long rowBytes = DB.dsl().fetchSingle("SELECT sum(pg_column_size(l.*)) FROM " + logTable + " l"
                    + " JOIN etl_rollback.statement s ON s.stmt = l.stmt"
                    + " JOIN etl_rollback.migration m ON m.mig = s.mig WHERE m.migration_id = 'load_1'")
                    .get(0, Long.class);
            long tableBytes = DB.dsl().fetchSingle("SELECT pg_total_relation_size(?::regclass)", logTable)
                    .get(0, Long.class);
            assertThat(table.logBytes()).as(table.table()).isEqualTo(rowBytes).isPositive();
            assertThat(table.logTableBytes()).as(table.table()).isEqualTo(tableBytes);
        }
        assertThat(load.logBytes()).isEqualTo(load.tables().get(0).logBytes() + load.tables().get(1).logBytes());
    }

    @Test
    void showLinksARollbackAndTheMigrationItUndid() {
        MigrationDetail wipe = ETL_ROLLBACK.show("wipe_scratch");
        MigrationDetail undo = ETL_ROLLBACK.show("rollback:wipe_scratch");

        assertThat(wipe.rollbacks()).containsExactly("rollback:wipe_scratch");
        assertThat(wipe.rolledBackAt()).isPresent();
        assertThat(wipe.tables()).singleElement().satisfies(t -> {
            assertThat(t.truncates()).isEqualTo(4);
            assertThat(t.rowChanges()).isEqualTo(4);
        });
        assertThat(undo.rollbackOf()).contains("wipe_scratch");
        assertThat(undo.tables()).singleElement().satisfies(t -> assertThat(t.inserts()).isEqualTo(4));
        assertThat(undo.checkpoints()).isEmpty();
    }

    @Test
    void showOfAnUnknownIdFailsNamingIt() {
        assertThatThrownBy(() -> ETL_ROLLBACK.show("no_such_load"))
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.FAILED))
                .hasMessageContaining("unknown migration id no_such_load");
        assertThatThrownBy(() -> ETL_ROLLBACK.show(""))
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.USAGE));
    }

    @Test
    void aViewerMayListButNotShowTheLog() throws SQLException {
        TestDatabase.Login viewer = DB.createLogin("viewer", "etl_rollback_viewer");
        EtlRollback asViewer = EtlRollback.configure().dataSource(viewer.dataSource()).load();

        assertThat(asViewer.list()).extracting(MigrationSummary::migrationId)
                .containsExactlyElementsOf(ETL_ROLLBACK.list().stream().map(MigrationSummary::migrationId).toList());
        assertThatThrownBy(() -> asViewer.show("load_1"))
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.FAILED))
                .hasMessageContaining("role " + viewer.user() + " may not show a migration's log")
                .hasMessageContaining("GRANT etl_rollback_admin TO " + viewer.user());
        TestDatabase.Login nobody = DB.createLogin("nobody");
        assertThatThrownBy(() -> EtlRollback.configure().dataSource(nobody.dataSource()).load().list())
                .hasMessageContaining("GRANT etl_rollback_viewer TO " + nobody.user());
    }

    @Test
    void listWhereEtlRollbackIsNotInstalledSaysToInstallIt() {
        TestDatabase empty = TestDatabase.forClass(InspectIT.class);
        empty.dsl().execute("DROP SCHEMA etl_rollback CASCADE");
        EtlRollback there = EtlRollback.configure().dataSource(empty.dataSource()).load();

        assertThatThrownBy(there::list)
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.FAILED))
                .hasMessageContaining("etl-rollback is not installed in")
                .hasMessageContaining("etl-rollback install");
        assertThat(Optional.ofNullable(empty.dsl().fetchValue("SELECT to_regclass('etl_rollback.migration')"))).isEmpty();
    }

    private static OffsetDateTime fetchTime(String sql) {
        return DB.dsl().fetchSingle(sql).get(0, OffsetDateTime.class);
    }
}
