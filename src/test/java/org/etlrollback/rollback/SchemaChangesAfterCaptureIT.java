package org.etlrollback.rollback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.sql.SQLException;
import java.util.Map;
import org.etlrollback.ConflictPolicy;
import org.etlrollback.RollbackOptions;
import org.etlrollback.RollbackResult;
import org.etlrollback.TestDatabase;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Tables and columns renamed, dropped, retyped, and keys changed after a migration was logged: the rollback is
 * carried out correctly, or refused with a message that says what changed and what to do; never a wrong rollback.
 */
class SchemaChangesAfterCaptureIT {
    private static final Scenario DB = new Scenario(TestDatabase.forClass(SchemaChangesAfterCaptureIT.class));

    @BeforeEach
    void schema() throws SQLException {
        DB.forgetMigrations();
        DB.sql("""
                drop schema if exists sc cascade;
                drop schema if exists sc_moved cascade;
                create schema sc;
                create table sc.items (id int primary key, code text not null, note text, qty int);
                create table sc.other (id int primary key, note text);
                insert into sc.items select g, 'c' || g, 'n' || g, g from generate_series(1, 10) g;
                insert into sc.other select g, 'o' || g from generate_series(1, 10) g;
                select etl_rollback.track('sc.items');
                select etl_rollback.track('sc.other');
                """);
    }

    private static void migrate() throws SQLException {
        DB.tagged("m1", """
                update sc.items set note = 'changed', qty = qty * 10 where id <= 3;
                delete from sc.items where id = 10;
                update sc.other set note = 'changed' where id <= 3;
                """);
    }

    @Test
    void tableRenamedAndMovedToAnotherSchemaIsRolledBackUnderItsNewName() throws SQLException {
        Map<String, String> before = DB.state("sc.items");
        migrate();
        DB.sql("""
                create schema sc_moved;
                alter table sc.items rename to "Items Renamed";
                alter table sc."Items Renamed" set schema sc_moved;
                """);

        RollbackResult result = DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true));

        assertThat(result.tables()).extracting(t -> t.table()).contains("sc_moved.\"Items Renamed\"");
        assertThat(DB.rows("sc_moved.\"Items Renamed\"")).isEqualTo(before.get("sc.items"));
    }

    @Test
    void tableDroppedIsRefusedNamingItAndTheOtherTablesStayAsTheyAre() throws SQLException {
        migrate();
        String other = DB.rows("sc.other");
        DB.sql("drop table sc.items");

        Scenario.assertFailed(() -> DB.reverser().rollback("m1"))
                .hasMessageContaining("table sc.items has been dropped since its changes were logged");

        assertThat(DB.rows("sc.other")).isEqualTo(other);
        assertThat(DB.status("m1")).isEqualTo("active");
    }

    @Test
    void tableDroppedAndCreatedAgainUnderItsNameIsNotTheTableTheLogKnows() throws SQLException {
        migrate();
        DB.sql("""
                drop table sc.items;
                create table sc.items (id int primary key, code text not null, note text, qty int);
                insert into sc.items values (1, 'new', 'new', 1);
                """);
        String recreated = DB.rows("sc.items");

        Scenario.assertFailed(() -> DB.reverser().rollback("m1"))
                .hasMessageContaining("table sc.items has been dropped since its changes were logged");

        assertThat(DB.rows("sc.items")).isEqualTo(recreated);
    }

    @Test
    void tableThatAnotherInheritsFromSinceIsRefusedRatherThanGivenTheChildsRows() throws SQLException {
        DB.sql("""
                create table sc.special (extra text) inherits (sc.items);
                insert into sc.special values (11, 'c11', 'n11', 11, 'kept');
                """);
        // the capture of sc.items sees the child's rows as sc.items rows: a rollback would put them there
        DB.tagged("m1", "update sc.items set note = 'changed'; delete from sc.items where id = 11");
        String items = DB.rows("sc.items");

        Scenario.assertFailed(() -> DB.reverser().rollback("m1"))
                .hasMessageContaining("table sc.items takes part in table inheritance since it was tracked")
                .hasMessageContaining("Nothing was changed");

        assertThat(DB.rows("sc.items")).isEqualTo(items);
        assertThat(DB.rows("sc.special")).isEmpty();
    }

    @Test
    void tableAttachedAsAPartitionSinceIsRefused() throws SQLException {
        assumeTrue(DB.count("select current_setting('server_version_num')::int") >= 140000,
                "PostgreSQL 13 refuses to attach a table with transition table triggers as a partition");
        migrate();
        String items = DB.rows("sc.items");
        DB.sql("""
                create table sc.all_items (id int not null, code text not null, note text, qty int)
                    partition by range (id);
                alter table sc.all_items attach partition sc.items for values from (1) to (1000);
                """);

        Scenario.assertFailed(() -> DB.reverser().rollback("m1"))
                .hasMessageContaining("table sc.items takes part in table inheritance since it was tracked");

        assertThat(DB.rows("sc.items")).isEqualTo(items);
        assertThat(DB.status("m1")).isEqualTo("active");
    }

    @Test
    void columnDroppedIsRefusedUntilTrackedAgainThenTheOtherColumnsAreRolledBack() throws SQLException {
        migrate();
        DB.sql("alter table sc.items drop column qty");
        String changed = DB.rows("sc.items");

        Scenario.assertFailed(() -> DB.reverser().rollback("m1"))
                .hasMessageContaining("no longer has the columns its log was written with")
                .hasMessageContaining("Nothing was changed");
        assertThat(DB.rows("sc.items")).isEqualTo(changed);

        DB.sql("select etl_rollback.track('sc.items')");
        DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true));

        assertThat(DB.text("select string_agg(id || ' ' || note, ', ' order by id) from sc.items where id <= 3"
                + " or id = 10")).isEqualTo("1 n1, 2 n2, 3 n3, 10 n10");
    }

    @Test
    void columnRenamedIsRefusedUntilTrackedAgainThenRolledBackUnderItsNewName() throws SQLException {
        Map<String, String> before = DB.state("sc.items");
        migrate();
        DB.sql("alter table sc.items rename column note to remark");

        Scenario.assertFailed(() -> DB.reverser().rollback("m1"))
                .hasMessageContaining("no longer has the columns its log was written with");

        DB.sql("select etl_rollback.track('sc.items')");
        DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true));

        DB.sql("alter table sc.items rename column remark to note");
        assertThat(DB.state("sc.items")).isEqualTo(before);
    }

    @Test
    void columnsSwappedByRenamesAreRefusedUntilTrackedAgainThenEachTakesItsOwnValues() throws SQLException {
        Map<String, String> before = DB.state("sc.items");
        migrate();
        DB.sql("""
                alter table sc.items rename column note to tmp;
                alter table sc.items rename column code to note;
                alter table sc.items rename column tmp to code;
                """);
        String changed = DB.rows("sc.items");

        Scenario.assertFailed(() -> DB.reverser().rollback("m1"))
                .hasMessageContaining("no longer has the columns its log was written with");
        assertThat(DB.rows("sc.items")).isEqualTo(changed);

        DB.sql("select etl_rollback.track('sc.items')");
        DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true));

        DB.sql("""
                alter table sc.items rename column note to tmp;
                alter table sc.items rename column code to note;
                alter table sc.items rename column tmp to code;
                """);
        assertThat(DB.state("sc.items")).isEqualTo(before);
    }

    @Test
    void columnDroppedAndAddedAgainUnderItsNameIsNotTheColumnTheLogKnows() throws SQLException {
        migrate();
        DB.sql("alter table sc.items drop column note; alter table sc.items add column note text");
        String changed = DB.rows("sc.items");

        Scenario.assertFailed(() -> DB.reverser().rollback("m1"))
                .hasMessageContaining("no longer has the columns its log was written with");

        assertThat(DB.rows("sc.items")).isEqualTo(changed);
    }

    @Test
    void generatedColumnMadePlainIsRefusedUntilTrackedAgainThenRestoredWithItsValues() throws SQLException {
        DB.sql("""
                alter table sc.other add column shout text generated always as (upper(note)) stored;
                select etl_rollback.track('sc.other');
                """);
        Map<String, String> before = DB.state("sc.other");
        migrate();
        DB.sql("alter table sc.other alter column shout drop expression");

        Scenario.assertFailed(() -> DB.reverser().rollback("m1"))
                .hasMessageContaining("no longer has the columns its log was written with");

        DB.sql("select etl_rollback.track('sc.other')");
        DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true));

        assertThat(DB.state("sc.other")).isEqualTo(before);
    }

    @Test
    void columnRetypedIsRefusedEvenWhenTrackedAgainSinceItsOldValuesAreInAnotherType() throws SQLException {
        migrate();
        DB.sql("alter table sc.items alter column qty type bigint");
        DB.sql("select etl_rollback.track('sc.items')");
        String changed = DB.rows("sc.items");

        Scenario.assertFailed(() -> DB.reverser().rollback("m1"))
                .hasMessageContaining("[qty] that were not logged when the migration changed it");

        assertThat(DB.rows("sc.items")).isEqualTo(changed);
    }

    @Test
    void keyThatNoLongerIdentifiesRowsIsRefusedUntilTrackedAgainUnderTheNewKey() throws SQLException {
        migrate();
        DB.sql("""
                alter table sc.items drop constraint items_pkey;
                insert into sc.items values (1, 'dup', 'another row with id 1', 0);
                """);
        String changed = DB.rows("sc.items");

        // a restore joined on id would reach the other row with id 1 too
        Scenario.assertFailed(() -> DB.reverser().rollback("m1",
                        RollbackOptions.defaults().withOnConflict(ConflictPolicy.FORCE)))
                .hasMessageContaining("table sc.items no longer has a primary key or a unique key on non-null"
                        + " columns [id]")
                .hasMessageContaining("Track the table again");
        assertThat(DB.rows("sc.items")).isEqualTo(changed);

        DB.sql("""
                alter table sc.items add unique (code);
                select etl_rollback.track('sc.items');
                """);
        DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true));

        assertThat(DB.text("select string_agg(id || ' ' || code || ' ' || note || ' ' || qty, ', ' order by id, code)"
                + " from sc.items where id <= 3 or id = 10"))
                .isEqualTo("1 c1 n1 1, 1 dup another row with id 1 0, 2 c2 n2 2, 3 c3 n3 3, 10 c10 n10 10");
    }
}
