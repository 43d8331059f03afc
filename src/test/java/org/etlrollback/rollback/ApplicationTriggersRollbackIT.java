package org.etlrollback.rollback;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.SQLException;
import java.util.Map;
import org.etlrollback.RollbackOptions;
import org.etlrollback.TestDatabase;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The application's own triggers on tracked tables do not fire while the rollback restores rows (a restored row
 * keeps its old updated_at; a counter the triggers maintain is restored from the log, not counted again), nor do
 * its rules rewrite the rollback's statements, and both are enabled again afterwards exactly as they were.
 */
class ApplicationTriggersRollbackIT {
    private static final Scenario DB = new Scenario(TestDatabase.forClass(ApplicationTriggersRollbackIT.class));
    private static final String[] TABLES = {"app.items", "app.item_count", "app.events"};

    @BeforeEach
    void schema() throws SQLException {
        DB.forgetMigrations();
        DB.sql("""
                drop schema if exists app cascade;
                create schema app;
                create table app.items (id int primary key, name text not null, price numeric(10,2),
                    updated_at timestamptz not null);
                create table app.item_count (id int primary key, n int not null);
                insert into app.items select g, 'item ' || g, g, '2020-01-01 00:00:00+00' from generate_series(1, 20) g;
                insert into app.item_count values (1, 20);
                create function app.touch() returns trigger language plpgsql as
                    $$ begin new.updated_at := now(); return new; end $$;
                create function app.count_insert() returns trigger language plpgsql as
                    $$ begin update app.item_count set n = n + 1 where id = 1; return null; end $$;
                create trigger items_touch before update on app.items for each row execute function app.touch();
                create trigger items_count after insert on app.items for each row execute function app.count_insert();

                create table app.events (id int, kind text, payload text, updated_at timestamptz not null,
                    primary key (kind, id)) partition by list (kind);
                create table app.events_a partition of app.events for values in ('a');
                create table app.events_b partition of app.events for values in ('b');
                insert into app.events select g, case when g % 2 = 0 then 'a' else 'b' end, 'p' || g,
                    '2020-01-01 00:00:00+00' from generate_series(1, 10) g;
                create trigger events_touch before update on app.events for each row execute function app.touch();

                select etl_rollback.track('app.items');
                select etl_rollback.track('app.item_count');
                select etl_rollback.track('app.events');
                """);
    }

    @Test
    void rollbackKeepsApplicationTriggersFromAlteringRestoredRows() throws SQLException {
        Map<String, String> before = DB.state(TABLES);
        DB.tagged("m1", """
                update app.items set price = price * 2 where id <= 10;
                insert into app.items select g, 'new ' || g, 1, '2020-01-01 00:00:00+00' from generate_series(21, 25) g;
                delete from app.items where id in (15, 16);
                update app.events set payload = 'changed' where id <= 4;
                """);
        assertThat(DB.count("select count(*) from app.items where updated_at > '2020-01-01'")).isEqualTo(10);
        assertThat(DB.count("select n from app.item_count")).isEqualTo(25);

        DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true));

        assertThat(DB.state(TABLES)).isEqualTo(before);
        assertThat(DB.count("select count(*) from app.items where updated_at <> '2020-01-01 00:00:00+00'")).isZero();
        assertThat(DB.count("select n from app.item_count")).isEqualTo(20);
        assertThat(triggerModes()).isEqualTo(
                "app.events:events_touch:O,app.events_a:events_touch:O,app.events_b:events_touch:O,"
                        + "app.items:items_count:O,app.items:items_touch:O");
    }

    @Test
    void triggersFireAgainAfterTheRollback() throws SQLException {
        DB.tagged("m1", "update app.items set price = 0 where id = 1; delete from app.items where id = 2");
        DB.reverser().rollback("m1");

        DB.sql("update app.items set price = 1 where id = 3; insert into app.items values (30, 'x', 1, 'epoch')");

        assertThat(DB.count("select count(*) from app.items where id = 3 and updated_at > '2020-01-01'"))
                .isEqualTo(1);
        assertThat(DB.count("select n from app.item_count")).isEqualTo(21);
    }

    @Test
    void triggersKeepTheirEnabledModes() throws SQLException {
        DB.sql("""
                alter table app.items enable always trigger items_touch;
                alter table app.items disable trigger items_count;
                create trigger items_replica before update on app.items for each row execute function app.touch();
                alter table app.items enable replica trigger items_replica;
                alter table app.events_b disable trigger events_touch;
                """);
        String modes = triggerModes();
        assertThat(modes).contains("app.items:items_touch:A", "app.items:items_count:D",
                "app.items:items_replica:R", "app.events_b:events_touch:D", "app.events_a:events_touch:O");
        Map<String, String> before = DB.state(TABLES);
        DB.tagged("m1", """
                update app.items set price = price * 2 where id <= 10;
                delete from app.items where id in (15, 16);
                update app.events set payload = 'changed' where id <= 4;
                """);

        DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true));

        assertThat(DB.state(TABLES)).isEqualTo(before);
        assertThat(triggerModes()).isEqualTo(modes);
    }

    @Test
    void rollbackKeepsApplicationRulesFromRewritingItsStatements() throws SQLException {
        DB.sql("""
                create table app.notes (id int primary key, body text not null, deleted boolean not null default false);
                insert into app.notes select g, 'note ' || g, false from generate_series(1, 5) g;
                create rule notes_soft_delete as on delete to app.notes
                    do instead update app.notes set deleted = true where id = old.id;
                create rule notes_count as on insert to app.notes
                    do also update app.item_count set n = n + 1 where id = 1;
                create rule notes_replicated as on update to app.notes where false do also nothing;
                alter table app.notes enable replica rule notes_replicated;
                select etl_rollback.track('app.notes');
                """);
        Map<String, String> before = DB.state("app.notes", "app.item_count");
        DB.tagged("m1", """
                insert into app.notes values (6, 'new', false), (7, 'newer', false);
                update app.notes set body = 'edited' where id = 1;
                """);
        assertThat(DB.count("select n from app.item_count")).isEqualTo(21);

        DB.reverser().rollback("m1");

        // the notes m1 inserted are deleted, not marked deleted; the count is restored from the log, once
        assertThat(DB.state("app.notes", "app.item_count")).isEqualTo(before);
        assertThat(DB.text("""
                select string_agg(r.rulename || ':' || r.ev_enabled::text, ',' order by r.rulename)
                  from pg_rewrite r where r.ev_class = 'app.notes'::regclass
                """)).isEqualTo("notes_count:O,notes_replicated:R,notes_soft_delete:O");
    }

    @Test
    void theSqlScriptKeepsTriggersAndRulesOffWhileItRestores(@TempDir Path dir) throws Exception {
        DB.sql("create rule items_kept as on delete to app.items do instead nothing");
        Map<String, String> before = DB.state(TABLES);
        DB.tagged("m1", """
                update app.items set price = price * 2 where id <= 10;
                insert into app.items select g, 'new ' || g, 1, '2020-01-01 00:00:00+00' from generate_series(21, 25) g;
                """);
        Path script = dir.resolve("rollback.sql");

        DB.reverser().rollback("m1", RollbackOptions.defaults().withDryRun(true).withSqlFile(script));
        DB.runScript(script, "");

        // no restored row got a new updated_at, and the rows m1 inserted were deleted despite the rule
        assertThat(DB.state(TABLES)).isEqualTo(before);
        assertThat(triggerModes()).isEqualTo(
                "app.events:events_touch:O,app.events_a:events_touch:O,app.events_b:events_touch:O,"
                        + "app.items:items_count:O,app.items:items_touch:O");
        assertThat(DB.text("select r.rulename || ':' || r.ev_enabled::text from pg_rewrite r"
                + " where r.ev_class = 'app.items'::regclass")).isEqualTo("items_kept:O");
    }

    /** Every application trigger as table:name:tgenabled, sorted. */
    private static String triggerModes() {
        return DB.text("""
                select string_agg(t.tgrelid::regclass || ':' || t.tgname || ':' || t.tgenabled::text, ','
                                  order by t.tgrelid::regclass::text, t.tgname)
                  from pg_trigger t
                 where t.tgrelid::regclass::text like 'app.%' and (not t.tgisinternal or t.tgparentid <> 0)
                   and t.tgname not like 'etl\\_rollback\\_%'
                """);
    }
}
