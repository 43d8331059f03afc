package org.etlrollback.proof;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import org.etlrollback.ConflictException;
import org.etlrollback.ConflictPolicy;
import org.etlrollback.Reverser;
import org.etlrollback.RollbackOptions;
import org.etlrollback.TableState;
import org.etlrollback.TestDatabase;
import org.junit.jupiter.api.Test;

/**
 * An application role that owns a tracked table may disable (or drop) the capture triggers on it, and write under
 * a migration id while they are off. Those writes are not in the log, so a rollback must not trust the rows they
 * changed: the rows the migration logged and that were changed since are conflicts (put down to an untagged write),
 * and rows it only changed unlogged are left alone. No rollback restores a wrong image.
 */
class CaptureSwitchedOffIT {
    private static final TestDatabase DB = TestDatabase.forClass(CaptureSwitchedOffIT.class);

    @Test
    void writesMadeWithTheCaptureDisabledByTheTablesOwnerAreConflictsNotRestoredBlindly() throws SQLException {
        TestDatabase.Login app = DB.createLogin("app_owner");
        DB.execute("""
                create schema shop;
                create table shop.items (id int primary key, note text);
                insert into shop.items select g, 'n' || g from generate_series(1, 6) g;
                select etl_rollback.track('shop.items');
                alter schema shop owner to %1$s;
                alter table shop.items owner to %1$s;
                """.formatted(app.user()));
        try (Connection c = app.connect(); Statement s = c.createStatement()) {
            s.execute("set etl_rollback.migration_id = 'm1'");
            s.execute("update shop.items set note = 'logged' where id <= 3");
            s.execute("alter table shop.items disable trigger etl_rollback_capture_u");
            s.execute("update shop.items set note = 'unlogged' where id in (2, 5)");
            s.execute("alter table shop.items enable trigger etl_rollback_capture_u");
        }
        String tampered = TableState.rows(DB.dsl(), "shop.items");

        assertThatThrownBy(() -> Reverser.using(DB.dataSource()).rollback("m1"))
                .isInstanceOfSatisfying(ConflictException.class, e -> assertThat(e.conflicts())
                        .singleElement()
                        .satisfies(conflict -> {
                            assertThat(conflict.key()).isEqualTo("{\"id\": 2}");
                            assertThat(conflict.untagged()).isTrue();
                        }));
        assertThat(TableState.rows(DB.dsl(), "shop.items")).isEqualTo(tampered);

        // with skip: rows 1 and 3 go back, row 2 stays as the unlogged write left it, row 5 is not the log's
        Reverser.using(DB.dataSource()).rollback("m1", RollbackOptions.defaults()
                .withOnConflict(ConflictPolicy.SKIP).withVerify(true));
        assertThat(DB.dsl().fetchValue("select string_agg(id || ' ' || note, ', ' order by id) from shop.items"))
                .isEqualTo("1 n1, 2 unlogged, 3 n3, 4 n4, 5 unlogged, 6 n6");
    }
}
