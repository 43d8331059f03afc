package org.etlrollback.rollback;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.SQLException;
import java.util.Map;
import org.etlrollback.ConflictPolicy;
import org.etlrollback.RollbackOptions;
import org.etlrollback.RollbackResult;
import org.etlrollback.TestDatabase;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A foreign key with ON DELETE CASCADE must not take rows the rollback restores with the rows it deletes.
 */
class CascadingDeletesRollbackIT {
    private static final Scenario DB = new Scenario(TestDatabase.forClass(CascadingDeletesRollbackIT.class));
    private static final String[] TABLES = {"casc.parents", "casc.children"};

    @BeforeEach
    void schema() throws SQLException {
        DB.forgetMigrations();
        DB.sql("""
                drop schema if exists casc cascade;
                create schema casc;
                create table casc.parents (id int primary key, name text);
                create table casc.children (id int primary key,
                    parent_id int not null references casc.parents on delete cascade, note text);
                insert into casc.parents select g, 'p' || g from generate_series(1, 5) g;
                insert into casc.children select g, 1 + g % 5, 'c' || g from generate_series(1, 10) g;
                select etl_rollback.track('casc.parents');
                select etl_rollback.track('casc.children');
                """);
    }

    @Test
    void parentReloadedUnderANewIdWithItsNaturalKeyIsRestoredInTheOrderNoActionHarms() throws SQLException {
        DB.sql("""
                create table casc.codes (id int primary key, code text unique, note text);
                create table casc.uses (id int primary key,
                    code text references casc.codes (code) on update cascade on delete set null);
                insert into casc.codes values (1, 'A', 'x'), (2, 'B', 'y');
                insert into casc.uses values (1, 'A'), (2, 'B'), (3, 'A');
                select etl_rollback.track('casc.codes');
                select etl_rollback.track('casc.uses');
                """);
        Map<String, String> before = DB.state("casc.codes", "casc.uses");
        // the delete sets the uses of A to null (logged as m1's too); the new row takes the natural key back
        DB.tagged("m1", "delete from casc.codes where id = 1; insert into casc.codes values (3, 'A', 'new')");

        // updating the uses back before deleting row 3 would let its ON DELETE SET NULL undo them again: the
        // order that does not is found and checked
        RollbackResult result = DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true));

        assertThat(DB.state("casc.codes", "casc.uses")).isEqualTo(before);
        assertThat(result.rowsRestored()).isEqualTo(4);
    }

    @Test
    void childrenMovedToAnInsertedParentSurviveItsDeletion() throws SQLException {
        Map<String, String> before = DB.state(TABLES);
        DB.tagged("m1", """
                insert into casc.parents values (100, 'new');
                update casc.children set parent_id = 100, note = 'moved' where id in (1, 2);
                """);

        // without verification: nothing else would notice rows lost to the cascade
        RollbackResult result = DB.reverser().rollback("m1");

        assertThat(DB.state(TABLES)).isEqualTo(before);
        assertThat(result.rowsRestored()).isEqualTo(3);
    }

    @Test
    void childrenMovedFromADeletedParentToAnInsertedOneSurvive() throws SQLException {
        Map<String, String> before = DB.state(TABLES);
        DB.tagged("m1", """
                insert into casc.parents values (100, 'new');
                update casc.children set parent_id = 100 where parent_id = 3;
                delete from casc.parents where id = 3;
                """);

        DB.reverser().rollback("m1");

        assertThat(DB.state(TABLES)).isEqualTo(before);
    }

    @Test
    void insertedParentThatAnUntaggedChildReferencesIsNotDeletedWithIt() throws SQLException {
        DB.tagged("m1", "insert into casc.parents values (9, 'p9'), (15, 'p15')");
        DB.sql("insert into casc.children values (12, 15, 'untagged')");
        Map<String, String> before = DB.state(TABLES);

        Scenario.assertFailed(() -> DB.reverser().rollback("m1"))
                .hasMessageContaining("rollback of m1 refused")
                .hasMessageContaining("1 row(s) of casc.children")
                .hasMessageContaining("ON DELETE CASCADE")
                .hasMessageContaining("Nothing was changed");

        assertThat(DB.state(TABLES)).isEqualTo(before);
        assertThat(DB.status("m1")).isEqualTo("active");
        assertThat(DB.migrationExists("rollback:m1")).isFalse();
    }

    @Test
    void insertedParentThatAnUntaggedChildReferencesIsNotDeletedWithItEvenWhenForced() throws SQLException {
        DB.sql("""
                alter table casc.children drop constraint children_parent_id_fkey;
                alter table casc.children alter column parent_id drop not null,
                    add foreign key (parent_id) references casc.parents on delete set null;
                """);
        DB.tagged("m1", "insert into casc.parents values (15, 'p15')");
        DB.sql("insert into casc.children values (12, 15, 'untagged')");
        Map<String, String> before = DB.state(TABLES);

        Scenario.assertFailed(() -> DB.reverser().rollback("m1",
                        RollbackOptions.defaults().withOnConflict(ConflictPolicy.FORCE)))
                .hasMessageContaining("ON DELETE SET NULL");

        assertThat(DB.state(TABLES)).isEqualTo(before);
        assertThat(DB.status("m1")).isEqualTo("active");
    }

    @Test
    void insertedParentIsDeletedOnceTheChildReferringToItIsGone() throws SQLException {
        Map<String, String> before = DB.state(TABLES);
        DB.tagged("m1", "insert into casc.parents values (15, 'p15')");
        DB.sql("insert into casc.children values (12, 15, 'untagged')");
        DB.sql("delete from casc.children where id = 12");

        DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true));

        assertThat(DB.state(TABLES)).isEqualTo(before);
    }
}
