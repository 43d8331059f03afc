package org.etlrollback.rollback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import org.etlrollback.ConflictException;
import org.etlrollback.RollbackOptions;
import org.etlrollback.RollbackResult;
import org.etlrollback.TableRollback;
import org.etlrollback.TestDatabase;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Schema, table and column names that need quoting (mixed case, spaces, quotes, unicode, reserved words, and
 * names the engine itself uses for aliases and variables) are quoted wherever the rollback writes SQL, and
 * reported as etl_rollback.tracked_tables names them.
 */
class QuotedNamesRollbackIT {
    private static final Scenario DB = new Scenario(TestDatabase.forClass(QuotedNamesRollbackIT.class));
    private static final String ORDERS = "\"Ünï Cödé\".\"Orders\"";
    private static final String ITEMS = "\"Ünï Cödé\".\"Order Items\"";
    private static final String RESERVED = "\"Ünï Cödé\".\"order\"";
    private static final String[] TABLES = {ORDERS, ITEMS, RESERVED};

    private static final String MIGRATION = """
            insert into "Ünï Cödé"."Orders" values (10, 'Zoë', 'new');
            insert into "Ünï Cödé"."Order Items" ("Order Id", "Line#", "Qty ""x""\", "prix €", "order", p, state)
                values (10, 1, 5, 9.99, 'o', 'p', 's');
            update "Ünï Cödé"."Order Items" set "Qty ""x""\" = "Qty ""x""\" + 1, v_stmt = 'changed', "select" = 'sel'
                where "Order Id" = 1;
            update "Ünï Cödé"."Orders" set "OrderId" = 99 where "OrderId" = 3;
            delete from "Ünï Cödé"."Orders" where "OrderId" = 2;
            insert into "Ünï Cödé"."order" values (50, 'ñ');
            update "Ünï Cödé"."order" set "Ñame" = 'renamed' where id = 1;
            delete from "Ünï Cödé"."order" where id = 2;
            """;

    @BeforeEach
    void schema() throws SQLException {
        DB.forgetMigrations();
        DB.sql("""
                drop schema if exists "Ünï Cödé" cascade;
                create schema "Ünï Cödé";
                create table "Ünï Cödé"."Orders" ("OrderId" int primary key, "Customer Name" text, "select" text);
                create table "Ünï Cödé"."Order Items" (
                    "Order Id" int references "Ünï Cödé"."Orders" ("OrderId") on delete cascade on update cascade,
                    "Line#" int,
                    "Qty ""x""\" int not null,
                    "prix €" numeric(10,2),
                    v_stmt text,
                    "select" text,
                    "order" text,
                    p text,
                    t text,
                    state text,
                    primary key ("Order Id", "Line#"));
                create table "Ünï Cödé"."order" (id int primary key, "Ñame" text);
                insert into "Ünï Cödé"."Orders" select g, 'customer ' || g, 's' from generate_series(1, 5) g;
                insert into "Ünï Cödé"."Order Items"
                    select o, l, o * l, l * 2.5, 'v', 'sel', 'ord', 'p', 't', 'st'
                      from generate_series(1, 5) o, generate_series(1, 3) l;
                insert into "Ünï Cödé"."order" select g, 'ñame ' || g from generate_series(1, 3) g;
                select etl_rollback.track('"Ünï Cödé"."Orders"');
                select etl_rollback.track('"Ünï Cödé"."Order Items"');
                select etl_rollback.track('"Ünï Cödé"."order"');
                """);
    }

    @Test
    void rollbackRestoresTablesWithQuotedNames() throws SQLException {
        Map<String, String> before = DB.state(TABLES);
        DB.tagged("m1", MIGRATION);
        assertThat(DB.state(TABLES)).isNotEqualTo(before);

        RollbackResult result = DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true));

        assertThat(DB.state(TABLES)).isEqualTo(before);
        assertThat(result.tables()).extracting(TableRollback::table).containsExactlyInAnyOrderElementsOf(tracked());
        assertThat(result.tables()).extracting(TableRollback::table).contains(ITEMS, RESERVED);
    }

    @Test
    void sqlScriptQuotesEveryName(@TempDir Path dir) throws Exception {
        Map<String, String> before = DB.state(TABLES);
        DB.tagged("m1", MIGRATION);
        Path script = dir.resolve("rollback.sql");
        DB.reverser().rollback("m1", RollbackOptions.defaults().withDryRun(true).withSqlFile(script));

        DB.runScript(script, "");

        assertThat(DB.state(TABLES)).isEqualTo(before);
    }

    @Test
    void conflictsNameTableAndKeyColumnsAsTheyAre() throws SQLException {
        DB.tagged("m1", MIGRATION);
        DB.sql("""
                update "Ünï Cödé"."Order Items" set "Qty ""x""\" = 0 where "Order Id" = 1 and "Line#" = 2;
                update "Ünï Cödé"."order" set "Ñame" = 'later' where id = 1;
                """);
        Map<String, String> current = DB.state(TABLES);

        assertThatThrownBy(() -> DB.reverser().rollback("m1")).isInstanceOfSatisfying(ConflictException.class, e -> {
            assertThat(e.conflicts()).hasSize(2);
            assertThat(e.conflicts()).anySatisfy(c -> {
                assertThat(c.table()).isEqualTo(ITEMS);
                assertThat(c.key()).isEqualTo("{\"Line#\": 2, \"Order Id\": 1}");
                assertThat(c.untagged()).isTrue();
            });
            assertThat(e.conflicts()).anySatisfy(c -> {
                assertThat(c.table()).isEqualTo(RESERVED);
                assertThat(c.key()).isEqualTo("{\"id\": 1}");
            });
            assertThat(e.conflicts()).allSatisfy(c -> assertThat(tracked()).contains(c.table()));
        });
        assertThat(DB.state(TABLES)).isEqualTo(current);
    }

    private static List<String> tracked() {
        return DB.dsl().fetch("select table_name from etl_rollback.tracked_tables").getValues(0, String.class);
    }
}
