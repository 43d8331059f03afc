package org.etlrollback.internal.retention;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.etlrollback.EtlRollback;
import org.etlrollback.RollbackOptions;
import org.etlrollback.TestDatabase;
import org.etlrollback.internal.database.Database;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Deleting named migrations' logs, as the demo removes its own: whole groups only, known ids only. */
class CleanupByIdIT {
    private TestDatabase db;
    private Cleanup cleanup;

    @BeforeEach
    void migrations() {
        db = TestDatabase.forClass(CleanupByIdIT.class);
        cleanup = new Cleanup(new Database(db.dataSource(), db.url()));
        db.dsl().execute("""
                CREATE TABLE public.t (id int PRIMARY KEY);
                SELECT etl_rollback.track('public.t');
                SET etl_rollback.migration_id = 'a';
                INSERT INTO public.t VALUES (1), (2);
                SET etl_rollback.migration_id = 'b';
                INSERT INTO public.t VALUES (3)""");
        EtlRollback.configure().dataSource(db.dataSource()).load().rollback("a", RollbackOptions.defaults());
    }

    private List<String> migrationIds() {
        return db.dsl().fetch("SELECT migration_id FROM etl_rollback.migration ORDER BY 1").getValues(0, String.class);
    }

    @Test
    void aMigrationIsDeletedWithItsRollbacksWhenAllAreNamed() {
        assertThat(cleanup.migrations(List.of("rollback:a", "a"))).isEqualTo(2 + 2);

        assertThat(migrationIds()).containsExactly("b");
        assertThat(db.dsl().fetchValue("SELECT count(*) FROM etl_rollback.changes")).isEqualTo(1L);
    }

    @Test
    void aMigrationWithoutItsRollbackIsRefusedAndNothingIsDeleted() {
        assertThatThrownBy(() -> cleanup.migrations(List.of("a", "b")))
                .hasMessage("cannot delete the log of a: it is linked by rollback to rollback:a (it was not named),"
                        + " and a migration and its rollbacks are deleted together. Nothing was deleted.");
        assertThat(migrationIds()).containsExactly("a", "b", "rollback:a");
    }

    @Test
    void anUnknownIdIsRefusedAndNothingIsDeleted() {
        assertThatThrownBy(() -> cleanup.migrations(List.of("b", "c")))
                .hasMessage("unknown migration id(s) [c]; nothing was deleted");
        assertThat(migrationIds()).containsExactly("a", "b", "rollback:a");
    }
}
