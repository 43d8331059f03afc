package org.etlrollback.rollback;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Map;
import org.etlrollback.RollbackOptions;
import org.etlrollback.RollbackResult;
import org.etlrollback.TableRollback;
import org.etlrollback.TestDatabase;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The ways ETL code writes: upserts that insert some rows and update others in one statement, and many
 * single-row statements sent as JDBC batches.
 */
class WriteStylesRollbackIT {
    private static final Scenario DB = new Scenario(TestDatabase.forClass(WriteStylesRollbackIT.class));
    private static final String[] TABLES = {"ws.stock", "ws.readings"};
    private static final int BATCH_SIZE = 500;

    @BeforeEach
    void schema() throws SQLException {
        DB.forgetMigrations();
        DB.sql("""
                drop schema if exists ws cascade;
                create schema ws;
                create table ws.stock (sku text primary key, qty int not null, source text,
                    barcode text not null unique);
                insert into ws.stock select 'sku' || g, g, 'seed', 'b' || g from generate_series(1, 50) g;
                create table ws.readings (id bigint primary key, sensor text not null, value double precision,
                    taken_at timestamptz not null);
                insert into ws.readings select g, 's' || g % 7, g / 3.0, 'epoch'::timestamptz + g * interval '1 min'
                    from generate_series(1, 4000) g;
                select etl_rollback.track('ws.stock');
                select etl_rollback.track('ws.readings');
                """);
    }

    @Test
    void upsertsMixingNewAndExistingKeysAreRolledBack() throws SQLException {
        Map<String, String> before = DB.state(TABLES);
        DB.tagged("m1", """
                insert into ws.stock select 'sku' || g, g * 100, 'upsert', 'b' || g from generate_series(40, 60) g
                    on conflict (sku) do update set qty = ws.stock.qty + excluded.qty, source = excluded.source;
                insert into ws.stock select 'sku' || g, 0, 'ignored', 'b' || g from generate_series(55, 70) g
                    on conflict do nothing;
                insert into ws.stock values ('sku51', 1, 'again', 'b51'), ('sku30', 1, 'again', 'b30')
                    on conflict (sku) do update set qty = excluded.qty, source = excluded.source;
                insert into ws.stock values ('other', 5, 'by barcode', 'b20')
                    on conflict (barcode) do update set qty = excluded.qty;
                """);
        assertThat(DB.count("select count(*) from ws.stock")).isEqualTo(70);

        RollbackResult result = DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true));

        assertThat(DB.state(TABLES)).isEqualTo(before);
        assertThat(table(result, "ws.stock")).isEqualTo(new TableRollback("ws.stock", 20, 13, 0, 0, 0));
    }

    @Test
    void upsertThatInsertsNothingLeavesNothingToRollBack() throws SQLException {
        Map<String, String> before = DB.state(TABLES);
        DB.tagged("m1", """
                insert into ws.stock select 'sku' || g, 0, 'ignored', 'b' || g from generate_series(1, 50) g
                    on conflict do nothing;
                insert into ws.stock values ('sku100', 1, 'new', 'b100') on conflict do nothing;
                """);

        RollbackResult result = DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true));

        assertThat(DB.state(TABLES)).isEqualTo(before);
        assertThat(table(result, "ws.stock")).isEqualTo(new TableRollback("ws.stock", 1, 0, 0, 0, 0));
    }

    @Test
    void singleRowStatementsSentAsJdbcBatchesAreRolledBack() throws SQLException {
        Map<String, String> before = DB.state(TABLES);
        try (Connection c = DB.db().connect()) {
            c.setAutoCommit(false);
            TestDatabase.tag(c, "m1");
            try (PreparedStatement update = c.prepareStatement("update ws.readings set value = ? where id = ?")) {
                for (int id = 1; id <= 3000; id++) {
                    update.setDouble(1, id * 0.1 + 1.0 / 3);
                    update.setLong(2, id);
                    update.addBatch();
                    if (id % BATCH_SIZE == 0) {
                        update.executeBatch();
                        c.commit();
                    }
                }
            }
            try (PreparedStatement insert = c.prepareStatement(
                    "insert into ws.readings values (?, ?, ?, now())")) {
                for (int id = 4001; id <= 5000; id++) {
                    insert.setLong(1, id);
                    insert.setString(2, "new");
                    insert.setDouble(3, Math.PI * id);
                    insert.addBatch();
                    if (id % BATCH_SIZE == 0) {
                        insert.executeBatch();
                    }
                }
            }
            try (PreparedStatement delete = c.prepareStatement("delete from ws.readings where id = ?")) {
                for (int id = 3501; id <= 4000; id++) {
                    delete.setLong(1, id);
                    delete.addBatch();
                }
                delete.executeBatch();
            }
            try (PreparedStatement update = c.prepareStatement("update ws.readings set sensor = ? where id = ?")) {
                for (int id = 4001; id <= 4100; id++) {
                    update.setString(1, "renamed");
                    update.setLong(2, id);
                    update.addBatch();
                }
                update.executeBatch();
            }
            c.commit();
        }
        assertThat(DB.count("select count(*) from etl_rollback.statement s join etl_rollback.migration m"
                + " using (mig) where m.migration_id = 'm1' and s.row_count = 1")).isEqualTo(4600);

        RollbackResult result = DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true));

        assertThat(DB.state(TABLES)).isEqualTo(before);
        assertThat(table(result, "ws.readings")).isEqualTo(new TableRollback("ws.readings", 1000, 3000, 500, 0, 0));
    }

    private static TableRollback table(RollbackResult result, String table) {
        return result.tables().stream().filter(t -> t.table().equals(table)).findFirst().orElseThrow();
    }
}
