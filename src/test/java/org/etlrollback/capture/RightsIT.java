package org.etlrollback.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.name;
import static org.jooq.impl.DSL.table;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.etlrollback.SearchPathAttack;
import org.etlrollback.TestDatabase;
import org.etlrollback.TestDatabase.Login;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.Query;
import org.jooq.SQLDialect;
import org.jooq.Table;
import org.jooq.exception.DataAccessException;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Who may do what: an application role that may write a tracked table runs tagged migrations with
 * no grant on etl_rollback, and can neither read nor change the log; etl_rollback_viewer reads the
 * views; etl_rollback_admin tracks and untracks; shadowing functions and operators through
 * search_path runs no attacker code inside the SECURITY DEFINER capture.
 */
class RightsIT {

    private static final int INSUFFICIENT_PRIVILEGE = 42501;

    private static TestDatabase db;
    private static Login app;
    private static Login viewer;
    private static Login admin;

    private Session owner;

    @BeforeAll
    static void createRoles() throws SQLException {
        db = TestDatabase.forClass(RightsIT.class);
        app = db.createLogin("capture_app");
        viewer = db.createLogin("capture_viewer", "etl_rollback_viewer");
        admin = db.createLogin("capture_admin", "etl_rollback_admin");
        try (Session setup = new Session(db.connect())) {
            setup.exec("create table public.customer (id int primary key, name text)",
                       "select etl_rollback.track('public.customer')",
                       "create table public.supplier (id int primary key, name text)");
            DSLContext dsl = DSL.using(setup.connection(), SQLDialect.POSTGRES);
            dsl.execute("grant select, insert, update, delete, truncate on public.customer to {0}", name(app.user()));
            dsl.execute("grant select, insert, update, delete, truncate on public.supplier to {0}", name(app.user()));
            dsl.execute("grant select, trigger on public.supplier to {0}", name(admin.user()));
            dsl.execute("grant create on database {0} to {1}", name(db.name()), name(app.user()));
        }
    }

    @BeforeEach
    void connect() throws SQLException {
        owner = new Session(db.connect());
        owner.exec("truncate public.customer");
    }

    @AfterEach
    void disconnect() throws SQLException {
        owner.close();
    }

    private static int sqlState(DataAccessException e) {
        return Integer.parseInt(e.sqlState());
    }

    /** Runs each query as the session's role and returns those that did not fail with insufficient_privilege. */
    private static List<String> allowed(List<Query> queries) {
        List<String> allowed = new ArrayList<>();
        for (Query q : queries) {
            try {
                q.execute();
                allowed.add(q.getSQL());
            } catch (DataAccessException e) {
                if (sqlState(e) != INSUFFICIENT_PRIVILEGE) {
                    allowed.add(q.getSQL() + " failed otherwise: " + e.getMessage());
                }
            }
        }
        return allowed;
    }

    @Test
    void applicationRoleRunsATaggedMigrationAndSetsACheckpointWithNoGrantOnTheEngine() throws SQLException {
        assertThat(owner.column("select privilege_type from information_schema.role_table_grants"
                                + " where grantee = ? and table_schema = 'etl_rollback'", app.user())).isEmpty();
        try (Session s = new Session(app.connect())) {
            s.tag("app-migration");
            s.exec("insert into public.customer values (1, 'Ada'), (2, 'Bob')",
                   "select etl_rollback.checkpoint('loaded')",
                   "update public.customer set name = 'Ada L.' where id = 1",
                   "delete from public.customer where id = 2",
                   "truncate public.customer");
        }

        assertThat(owner.changes("app-migration")).containsExactly(
            owner.inserted("public.customer", "{\"id\": 1}", "{\"id\": 1, \"name\": \"Ada\"}"),
            owner.inserted("public.customer", "{\"id\": 2}", "{\"id\": 2, \"name\": \"Bob\"}"),
            owner.updated("public.customer", "{\"id\": 1}", "{\"id\": 1, \"name\": \"Ada\"}", "{\"id\": 1, \"name\": \"Ada L.\"}"),
            owner.deleted("public.customer", "{\"id\": 2}", "{\"id\": 2, \"name\": \"Bob\"}"),
            owner.truncated("public.customer", "{\"id\": 1}", "{\"id\": 1, \"name\": \"Ada L.\"}"));
        assertThat(owner.query("select started_by, row_changes::text from etl_rollback.migrations where migration_id = 'app-migration'"))
            .containsExactly(List.of(app.user(), "5"));
        assertThat(owner.column("select name from etl_rollback.checkpoints where migration_id = 'app-migration'"))
            .containsExactly("loaded");
    }

    @Test
    void applicationRoleCanNeitherReadNorChangeAnyEngineTable() throws SQLException {
        List<List<String>> relations = owner.query(
            "select c.relname::text, (select a.attname::text from pg_attribute a where a.attrelid = c.oid and a.attnum > 0"
            + " and not a.attisdropped and a.attidentity = '' and a.attgenerated = '' order by a.attnum limit 1)"
            + " from pg_class c where c.relnamespace = 'etl_rollback'::regnamespace and c.relkind in ('r', 'p') order by 1");
        assertThat(relations).extracting(r -> r.get(0))
            .contains("tracked_table", "tracked_column", "migration", "statement", "checkpoint", "flyway_schema_history")
            .anyMatch(r -> r.startsWith("log_"));
        List<String> views = List.of("changes", "migrations", "checkpoints", "tracked_tables");

        try (Session s = new Session(app.connect())) {
            DSLContext dsl = DSL.using(s.connection(), SQLDialect.POSTGRES);
            List<Query> attempts = new ArrayList<>();
            for (List<String> relation : relations) {
                Table<?> t = table(name("etl_rollback", relation.get(0)));
                attempts.add(dsl.selectFrom(t));
                attempts.add(dsl.insertInto(t).defaultValues());
                Field<String> someColumn = field(name(relation.get(1)), String.class);
                attempts.add(dsl.update(t).set(someColumn, someColumn));
                attempts.add(dsl.deleteFrom(t));
                attempts.add(dsl.truncate(t));
                attempts.add(dsl.dropTable(t));
                attempts.add(dsl.alterTable(t).addColumn("extra", SQLDataType.INTEGER));
            }
            for (String view : views) {
                attempts.add(dsl.selectFrom(table(name("etl_rollback", view))));
            }
            attempts.add(dsl.query("select nextval('etl_rollback.change_seq')"));
            attempts.add(dsl.query("select setval('etl_rollback.change_seq', 1)"));
            attempts.add(dsl.query("create table etl_rollback.planted (id int)"));
            attempts.add(dsl.query("create function etl_rollback.planted() returns int language sql as 'select 1'"));

            assertThat(allowed(attempts)).isEmpty();
        }
    }

    @Test
    void applicationRoleMayExecuteNoEngineFunctionButCheckpoint() throws SQLException {
        assertThat(owner.column("select p.oid::regprocedure::text from pg_proc p"
                                + " where p.pronamespace = 'etl_rollback'::regnamespace"
                                + " and has_function_privilege(?, p.oid, 'EXECUTE') order by 1", app.user()))
            .containsExactly("etl_rollback.checkpoint(text)");
        owner.exec("create table public.app_owned (id int primary key)");
        DSL.using(owner.connection(), SQLDialect.POSTGRES).execute("alter table public.app_owned owner to {0}", name(app.user()));
        try (Session s = new Session(app.connect())) {
            DSLContext dsl = DSL.using(s.connection(), SQLDialect.POSTGRES);
            assertThat(allowed(List.of(
                dsl.query("select etl_rollback.track('public.app_owned')"),
                dsl.query("select etl_rollback.untrack('public.customer')"),
                dsl.query("select * from etl_rollback._prepare_capture('public.app_owned')"),
                dsl.query("select etl_rollback._refresh_changes_view()"),
                dsl.query("select etl_rollback._regenerate_capture()"),
                dsl.query("select etl_rollback._session_migration()"),
                dsl.query("select etl_rollback._log_statement(1, 1, 'I', 1)"),
                dsl.query("select etl_rollback._check_migration_id('x')"),
                dsl.query("select etl_rollback._capture_function_source(1, 'public.customer', 'I')"),
                dsl.query("select etl_rollback._table_key('public.customer')"),
                dsl.query("select * from etl_rollback._capture_relations('public.customer')"),
                dsl.query("select etl_rollback._log_type(23, -1)")))).isEmpty();
        }
        assertThat(owner.column("select table_name from etl_rollback.tracked_tables")).doesNotContain("public.app_owned");
    }

    @Test
    void viewerReadsTheFourViewsButNoTable() throws SQLException {
        try (Session s = new Session(app.connect())) {
            s.tag("seen-by-viewer");
            s.exec("insert into public.customer values (10, 'Vi')", "select etl_rollback.checkpoint('c')",
                   "delete from public.customer where id = 10");
        }
        String logTable = owner.text("select 'log_' || table_id from etl_rollback.tracked_table where table_name = 'public.customer'");
        try (Session s = new Session(viewer.connect())) {
            assertThat(s.changes("seen-by-viewer")).isEqualTo(owner.changes("seen-by-viewer")).hasSize(2);
            assertThat(s.query("select migration_id, row_changes::text from etl_rollback.migrations where migration_id = 'seen-by-viewer'"))
                .containsExactly(List.of("seen-by-viewer", "2"));
            assertThat(s.column("select name from etl_rollback.checkpoints where migration_id = 'seen-by-viewer'")).containsExactly("c");
            assertThat(s.column("select table_name from etl_rollback.tracked_tables")).contains("public.customer");

            DSLContext dsl = DSL.using(s.connection(), SQLDialect.POSTGRES);
            List<Query> attempts = new ArrayList<>();
            for (String t : List.of(logTable, "migration", "statement", "tracked_table", "tracked_column", "checkpoint")) {
                attempts.add(dsl.selectFrom(table(name("etl_rollback", t))));
                attempts.add(dsl.deleteFrom(table(name("etl_rollback", t))));
            }
            attempts.add(dsl.query("select etl_rollback.track('public.supplier')"));
            attempts.add(dsl.query("select etl_rollback.untrack('public.customer')"));
            assertThat(allowed(attempts)).isEmpty();
        }
    }

    @Test
    void adminMemberWithTheTriggerPrivilegeTracksAndUntracks() throws SQLException {
        try (Session a = new Session(admin.connect()); Session s = new Session(app.connect())) {
            assertThat(a.text("select etl_rollback.track('public.supplier')")).isEqualTo("public.supplier");
            assertThat(a.text("select etl_rollback.track('public.supplier')")).isEqualTo("public.supplier");
            s.tag("admin-tracked");
            s.exec("insert into public.supplier values (1, 'tracked')");
            assertThat(a.text("select etl_rollback.untrack('public.supplier')")).isEqualTo("public.supplier");
            s.exec("insert into public.supplier values (2, 'untracked')");
            a.exec("select etl_rollback.track('public.supplier')");
            s.exec("insert into public.supplier values (3, 'tracked again')");
            // an admin may read and clean up the log
            String logTable = a.text("select 'log_' || table_id from etl_rollback.tracked_table where table_name = 'public.supplier'");
            assertThat(DSL.using(a.connection(), SQLDialect.POSTGRES).fetchCount(table(name("etl_rollback", logTable)))).isEqualTo(2);
        }

        assertThat(owner.changes("admin-tracked")).containsExactly(
            owner.inserted("public.supplier", "{\"id\": 1}", "{\"id\": 1, \"name\": \"tracked\"}"),
            owner.inserted("public.supplier", "{\"id\": 3}", "{\"id\": 3, \"name\": \"tracked again\"}"));
        assertThat(owner.number("select count(*) from pg_trigger where tgrelid = 'public.supplier'::regclass")).isEqualTo(4);
    }

    @Test
    void shadowingFunctionsAndOperatorsRunsNoAttackerCodeInsideTheCapture() throws SQLException {
        try (Session s = new Session(app.connect())) {
            SearchPathAttack.plant(s.connection());
            SearchPathAttack.lure(s.connection());
            // the look-alikes are live in the attacker's own statements
            assertThat(SearchPathAttack.probe(s.connection()))
                .isEqualTo(SearchPathAttack.LOOK_ALIKES.stream().map(l -> l + " as " + app.user()).toList());
            long mark = SearchPathAttack.mark(s.connection());

            s.exec("set etl_rollback.migration_id = 'shadowed'",
                   "insert into public.customer values (100, 'x'), (101, 'y')",
                   "update public.customer set name = 'z'",
                   "delete from public.customer",
                   "insert into public.customer values (102, 'w')",
                   "truncate public.customer",
                   "select etl_rollback.checkpoint('after the attack')");
            assertThat(SearchPathAttack.callsSince(s.connection(), mark)).isEmpty();
        }

        assertThat(owner.changes("shadowed")).containsExactly(
            owner.inserted("public.customer", "{\"id\": 100}", "{\"id\": 100, \"name\": \"x\"}"),
            owner.inserted("public.customer", "{\"id\": 101}", "{\"id\": 101, \"name\": \"y\"}"),
            owner.updated("public.customer", "{\"id\": 100}", "{\"id\": 100, \"name\": \"x\"}", "{\"id\": 100, \"name\": \"z\"}"),
            owner.updated("public.customer", "{\"id\": 101}", "{\"id\": 101, \"name\": \"y\"}", "{\"id\": 101, \"name\": \"z\"}"),
            owner.deleted("public.customer", "{\"id\": 100}", "{\"id\": 100, \"name\": \"z\"}"),
            owner.deleted("public.customer", "{\"id\": 101}", "{\"id\": 101, \"name\": \"z\"}"),
            owner.inserted("public.customer", "{\"id\": 102}", "{\"id\": 102, \"name\": \"w\"}"),
            owner.truncated("public.customer", "{\"id\": 102}", "{\"id\": 102, \"name\": \"w\"}"));
        assertThat(owner.column("select name from etl_rollback.checkpoints where migration_id = 'shadowed'"))
            .containsExactly("after the attack");
    }
}
