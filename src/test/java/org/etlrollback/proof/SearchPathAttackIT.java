package org.etlrollback.proof;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import javax.sql.DataSource;
import org.etlrollback.CleanupResult;
import org.etlrollback.ConflictPolicy;
import org.etlrollback.EtlRollback;
import org.etlrollback.MigrationSummary;
import org.etlrollback.Reverser;
import org.etlrollback.RollbackOptions;
import org.etlrollback.RollbackResult;
import org.etlrollback.SearchPathAttack;
import org.etlrollback.TestDatabase;
import org.etlrollback.TestDatabase.Login;
import org.etlrollback.internal.archive.Archiver;
import org.etlrollback.internal.database.Database;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Every SECURITY DEFINER function of etl_rollback, and every function that a role other than the engine's owner may
 * run, found in pg_proc so that a new one is covered without a change here: it pins a search_path that no other
 * role can plant objects in, and, run by the application role or a member of etl_rollback_admin from a session
 * whose search_path puts look-alike functions, operators and tables first ({@link SearchPathAttack}), it does its
 * work without running any of them. The one exception to the pinning is track(text), which finds the table on the
 * caller's search_path as the caller would, and qualifies every other name it uses.
 */
class SearchPathAttackIT {
    private static final TestDatabase DB = TestDatabase.forClass(SearchPathAttackIT.class);

    /**
     * The relations that carry capture triggers, each with the tracked table it logs to and the partition its rows
     * go to; the partitions before their parent, whose rows outlive the partitions' TRUNCATE.
     */
    private record Relation(String name, String table, int part) {
    }

    private static final List<Relation> RELATIONS = List.of(new Relation("attack.customer", "attack.customer", 1),
            new Relation("attack.events_1", "attack.events", 1), new Relation("attack.events_2", "attack.events", 2),
            new Relation("attack.events", "attack.events", 1));

    /** How the test calls the functions that are not trigger functions, and as whom. */
    private static final Map<String, String> CALLED_AS = Map.ofEntries(
            Map.entry("etl_rollback.checkpoint(text)", "the application role and the admin"),
            Map.entry("etl_rollback._prepare_capture(regclass)", "the admin"),
            Map.entry("etl_rollback.track(text)", "the admin"),
            Map.entry("etl_rollback._track(regclass,text)", "the admin, through track(text)"),
            Map.entry("etl_rollback._log_type(oid,integer)", "the admin"),
            Map.entry("etl_rollback._expect_rows(bigint,bigint,text)", "the admin, as a --sql script does"),
            Map.entry("etl_rollback._start_rollback(text,text)", "the admin, as a rollback and a --sql script do"),
            Map.entry("etl_rollback._rolled_back(text,bigint,bigint,boolean)",
                    "the admin, as a rollback and a --sql script do"),
            Map.entry("etl_rollback._set_status(integer,text,bigint)", "the admin, through _rolled_back"),
            Map.entry("etl_rollback._after_undoing(text,bigint,bigint,bigint,boolean)",
                    "the admin, through _rolled_back"),
            Map.entry("etl_rollback._after_redoing(text,bigint,bigint,bigint)", "the admin, through _rolled_back"),
            Map.entry("etl_rollback.untrack(text)", "the admin"));

    /** Resolves its argument on the caller's search_path by design; every other name in it is qualified. */
    private static final String NAME_RESOLVER = "etl_rollback.track(text)";

    private static Login app;
    private static Login admin;

    @BeforeAll
    static void schema() throws SQLException {
        app = DB.createLogin("attacker_app");
        admin = DB.createLogin("attacked_admin", "etl_rollback_admin");
        try (Connection owner = DB.connect()) {
            exec(owner,
                    "create schema attack",
                    "create table attack.customer (id int primary key, part int not null default 1, name text)",
                    "create table attack.events (id int, part int, name text, primary key (id, part)) partition by list (part)",
                    "create table attack.events_1 partition of attack.events for values in (1)",
                    "create table attack.events_2 partition of attack.events for values in (2)",
                    "create table attack.supplier (id int primary key, name text)",
                    "select etl_rollback.track('attack.customer')",
                    "select etl_rollback.track('attack.events')",
                    "grant usage on schema attack to public",
                    "grant select, insert, update, delete, truncate on all tables in schema attack to " + app.user(),
                    "grant select, trigger on attack.supplier to " + admin.user(),
                    "grant create on database \"" + DB.name() + "\" to " + app.user());
        }
        try (Connection attacker = app.connect()) {
            SearchPathAttack.plant(attacker);
        }
    }

    @Test
    void everyFunctionThatRunsAsTheOwnerOrThatOtherRolesMayRunPinsASearchPathNoOtherRoleCanWriteTo()
            throws SQLException {
        List<String> failures = new ArrayList<>();
        List<String> functions = new ArrayList<>();
        try (Connection owner = DB.connect()) {
            for (List<String> f : query(owner, """
                    select p.oid::regprocedure::text, coalesce(array_to_string(p.proconfig, E'\\n'), '')
                      from pg_proc p
                     where p.pronamespace = 'etl_rollback'::regnamespace
                       and (p.prosecdef or exists (select from pg_roles r
                                                    where not r.rolsuper and r.oid <> p.proowner
                                                      and has_function_privilege(r.oid, p.oid, 'EXECUTE')))
                     order by 1""")) {
                String function = f.get(0);
                functions.add(function);
                if (function.equals(NAME_RESOLVER)) {
                    continue;
                }
                List<String> path = searchPath(f.get(1));
                if (path.isEmpty()) {
                    failures.add(function + " does not set search_path");
                    continue;
                }
                // pg_temp left out is searched first for relations and types: it must be named, and last
                if (!path.contains("pg_temp") || !path.get(path.size() - 1).equals("pg_temp")) {
                    failures.add(function + " has search_path " + path + ", without pg_temp last");
                }
                for (String schema : path.subList(0, path.size() - 1)) {
                    List<String> writers = column(owner, """
                            select r.rolname::text from pg_namespace n, pg_roles r
                             where n.nspname = ? and not r.rolsuper and r.oid <> n.nspowner
                               and has_schema_privilege(r.oid, n.oid, 'CREATE')
                             order by 1""", schema);
                    if (schema.startsWith("$") || !schemaExists(owner, schema) || !writers.isEmpty()) {
                        failures.add(function + " searches " + schema + (writers.isEmpty() ? "" : ", which " + writers
                                + " may create objects in"));
                    }
                }
            }
        }
        assertThat(functions).as("the functions checked")
                .contains("etl_rollback.checkpoint(text)", "etl_rollback.untrack(text)",
                        "etl_rollback._prepare_capture(regclass)", NAME_RESOLVER, "etl_rollback._track(regclass,text)")
                .anyMatch(f -> f.startsWith("etl_rollback._capture_"));
        assertThat(failures).isEmpty();
    }

    @Test
    void everyFunctionTheApplicationOrTheAdminMayRunIgnoresLookAlikesOnTheirSearchPath()
            throws SQLException {
        Set<String> called = new TreeSet<>();
        List<List<String>> captures = new ArrayList<>();
        List<String> expectedChanges = new ArrayList<>();

        // the application role: every capture function, by writing each relation that has one, and checkpoint()
        try (Connection s = app.connect()) {
            lureAndProbe(s, app);
            long mark = SearchPathAttack.mark(s);
            exec(s, "select pg_catalog.set_config('etl_rollback.migration_id', 'under attack', false)");
            int base = 0;
            for (Relation r : RELATIONS) {
                base += 10;
                String relation = r.name();
                String table = r.table();
                int part = r.part();
                exec(s, "insert into " + relation + " (id, part, name) values (" + (base + 1) + ", " + part
                                + ", 'a'), (" + (base + 2) + ", " + part + ", 'b')",
                        "update " + relation + " set name = 'c' where id operator(pg_catalog.=) " + (base + 1),
                        "delete from " + relation + " where id operator(pg_catalog.=) " + (base + 2));
                expectedChanges.addAll(List.of(change(table, "INSERT", base + 1, "a"),
                        change(table, "INSERT", base + 2, "b"), change(table, "UPDATE", base + 1, "c"),
                        change(table, "DELETE", base + 2, "b")));
                captures.addAll(List.of(List.of(relation, table, "i"), List.of(relation, table, "u"),
                        List.of(relation, table, "d")));
                if (!relation.equals("attack.events")) {  // a partitioned table has no rows of its own
                    exec(s, "truncate " + relation);
                    expectedChanges.add(change(table, "TRUNCATE", base + 1, "c"));
                    captures.add(List.of(relation, table, "t"));
                }
            }
            exec(s, "select etl_rollback.checkpoint('app checkpoint')");
            assertThat(SearchPathAttack.callsSince(s, mark)).as("look-alikes run by the application's statements")
                    .isEmpty();
        }
        called.add("etl_rollback.checkpoint(text)");

        // the admin: prepare the capture of another table, track it, set a checkpoint, untrack the table
        try (Connection s = admin.connect()) {
            lureAndProbe(s, admin);
            long mark = SearchPathAttack.mark(s);
            List<List<String>> prepared = query(s,
                    "select rel::text, event, function_name from etl_rollback._prepare_capture('attack.supplier'::regclass)"
                    + " order by event");
            assertThat(prepared).extracting(r -> r.get(0) + " " + r.get(1))
                    .containsExactly("attack.supplier D", "attack.supplier I", "attack.supplier T", "attack.supplier U");
            assertThat(column(s, "select etl_rollback.track('attack.supplier')")).containsExactly("attack.supplier");
            assertThat(column(s, "select etl_rollback._log_type('integer'::regtype::oid, -1)"))
                    .containsExactly("integer");
            exec(s, "select etl_rollback._expect_rows(1, 1, 'a statement')");
            exec(s, "select pg_catalog.set_config('etl_rollback.migration_id', 'admin under attack', false)",
                    "select etl_rollback.checkpoint('admin checkpoint')",
                    // a rollback of it, and one of that, each recording its outcome
                    "select etl_rollback._start_rollback('rollback:admin under attack', 'admin under attack')",
                    "select etl_rollback._rolled_back('rollback:admin under attack', 0, null, true)",
                    "select etl_rollback._start_rollback('rollback:rollback:admin', 'rollback:admin under attack')",
                    "select etl_rollback._rolled_back('rollback:rollback:admin', 0, null, true)");
            assertThat(column(s, "select status from etl_rollback.migration"
                    + " where migration_id operator(pg_catalog.=) 'admin under attack'")).containsExactly("active");
            assertThat(column(s, "select etl_rollback.untrack('attack.supplier')")).containsExactly("attack.supplier");
            assertThat(SearchPathAttack.callsSince(s, mark)).as("look-alikes run by the admin's statements").isEmpty();
        }
        called.addAll(List.of("etl_rollback._prepare_capture(regclass)", NAME_RESOLVER,
                "etl_rollback._track(regclass,text)", "etl_rollback._log_type(oid,integer)",
                "etl_rollback._expect_rows(bigint,bigint,text)", "etl_rollback._start_rollback(text,text)",
                "etl_rollback._rolled_back(text,bigint,bigint,boolean)", "etl_rollback._set_status(integer,text,bigint)",
                "etl_rollback._after_undoing(text,bigint,bigint,bigint,boolean)",
                "etl_rollback._after_redoing(text,bigint,bigint,bigint)"));
        called.add("etl_rollback.untrack(text)");

        try (Connection owner = DB.connect()) {
            for (List<String> c : captures) {
                called.addAll(column(owner, "select format('etl_rollback._capture_%s_%s_%s()', table_id, ?::regclass::oid, ?)"
                        + " from etl_rollback.tracked_table where table_name = ?", c.get(0), c.get(2), c.get(1)));
            }
            // every function that either role can reach was reached
            List<String> reachable = column(owner, """
                    select p.oid::regprocedure::text from pg_proc p
                     where p.pronamespace = 'etl_rollback'::regnamespace
                       and ((p.prosecdef and p.prorettype = 'trigger'::regtype)
                            or has_function_privilege(?, p.oid, 'EXECUTE') or has_function_privilege(?, p.oid, 'EXECUTE'))
                     order by 1""", app.user(), admin.user());
            assertThat(called).as("functions called under attack; a new one needs a way to call it here (see %s)",
                    CALLED_AS).containsAll(reachable);

            assertThat(column(owner, "select concat_ws(' ', table_name, op, coalesce(new_row, old_row)->>'id',"
                    + " coalesce(new_row, old_row)->>'name') from etl_rollback.changes"
                    + " where migration_id = 'under attack' order by seq"))
                    .containsExactlyElementsOf(expectedChanges);
            assertThat(query(owner, "select m.migration_id, c.name from etl_rollback.checkpoints c"
                    + " join etl_rollback.migrations m using (migration_id) order by 1"))
                    .containsExactly(List.of("admin under attack", "admin checkpoint"),
                            List.of("under attack", "app checkpoint"));
            assertThat(column(owner, "select table_name from etl_rollback.tracked_tables order by 1"))
                    .containsExactly("attack.customer", "attack.events");
            assertThat(column(owner, "select p.proname::text from pg_proc p, etl_rollback.tracked_table t"
                    + " where t.table_name = 'attack.supplier' and p.pronamespace = 'etl_rollback'::regnamespace"
                    + " and p.proname like '\\_capture\\_' || t.table_id || '\\_%'")).isEmpty();
            assertThat(column(owner, "select fn from evil.calls where as_user <> all (?)",
                    (Object) new String[] {app.user(), admin.user()})).as("look-alikes run as another role").isEmpty();
        }
    }

    @Test
    void aRollbackRunByTheAdminFromAnAttackedSessionRunsNoLookAlike() throws Exception {
        try (Connection owner = DB.connect()) {
            exec(owner,
                    "create table attack.ledger (id int primary key, code varchar(10) unique, amount numeric,"
                            + " note text)",
                    "insert into attack.ledger values (1, 'a', 10, 'one'), (2, 'b', 20, 'two'), (3, 'c', 30, 'three')",
                    "select etl_rollback.track('attack.ledger')",
                    "grant select, insert, update, delete on attack.ledger to " + app.user() + ", " + admin.user());
        }
        try (Connection s = app.connect()) {
            exec(s, "select pg_catalog.set_config('etl_rollback.migration_id', 'ledger load', false)",
                    "update attack.ledger set code = 'x', amount = 11 where id = 1",
                    "update attack.ledger set code = 'a' where id = 2",
                    "update attack.ledger set code = 'b' where id = 1",
                    "insert into attack.ledger values (4, 'd', 40, 'four'), (5, 'e', 50, 'five')",
                    "delete from attack.ledger where id = 3",
                    "select pg_catalog.set_config('etl_rollback.migration_id', 'ledger fix', false)",
                    "update attack.ledger set note = 'fixed' where id = 5");
        }
        // every connection the rollback opens is an attacked session of the admin
        DataSource attacked = attackedAdmin();
        long mark;
        try (Connection s = admin.connect()) {
            mark = SearchPathAttack.mark(s);
        }

        RollbackResult result = Reverser.using(attacked).rollback("ledger load",
                RollbackOptions.defaults().withOnConflict(ConflictPolicy.SKIP).withVerify(true));

        assertThat(result.outcome()).isEqualTo(RollbackResult.Outcome.PARTIALLY_ROLLED_BACK);
        assertThat(result.conflicts()).extracting(c -> c.table() + " " + c.key() + " " + c.laterMigrations())
                .containsExactly("attack.ledger {\"id\": 5} [ledger fix]");
        try (Connection s = admin.connect()) {
            assertThat(SearchPathAttack.callsSince(s, mark)).as("look-alikes run by the rollback").isEmpty();
        }
        try (Connection owner = DB.connect()) {
            assertThat(query(owner, "select id::text, code, amount::text, note from attack.ledger order by id"))
                    .containsExactly(List.of("1", "a", "10", "one"), List.of("2", "b", "20", "two"),
                            List.of("3", "c", "30", "three"), List.of("5", "e", "50", "fixed"));
        }
    }

    @Test
    void inspectingExportingAndCleaningUpFromAnAttackedSessionRunNoLookAlike(@TempDir Path dir) throws Exception {
        try (Connection owner = DB.connect()) {
            exec(owner,
                    "create table attack.notes (id int primary key, body varchar(20))",
                    "select etl_rollback.track('attack.notes')",
                    "grant select, insert, update, delete on attack.notes to " + app.user());
        }
        try (Connection s = app.connect()) {
            exec(s, "select pg_catalog.set_config('etl_rollback.migration_id', 'notes load', false)",
                    "insert into attack.notes values (1, 'one'), (2, 'two')",
                    "select pg_catalog.set_config('etl_rollback.migration_id', 'notes fix', false)",
                    "update attack.notes set body = 'fixed' where id = 2");
        }
        DataSource attacked = attackedAdmin();
        EtlRollback engine = EtlRollback.configure().dataSource(attacked).load();
        long mark;
        try (Connection s = admin.connect()) {
            mark = SearchPathAttack.mark(s);
        }

        assertThat(engine.list()).extracting(MigrationSummary::migrationId).contains("notes load", "notes fix");
        assertThat(engine.show("notes load").tables()).singleElement()
                .satisfies(t -> assertThat(t.inserts()).isEqualTo(2));
        Archiver.Summary exported = new Archiver(Database.of(attacked))
                .export("notes fix", dir.resolve("notes-fix.jsonl"), false);
        assertThat(exported.rows()).isEqualTo(1);
        assertThat(engine.cleanup(Duration.ZERO, true).deleted()).extracting(CleanupResult.Deleted::migrationId)
                .contains("notes load", "notes fix");
        assertThat(engine.cleanup(Duration.ZERO, false).deleted()).extracting(CleanupResult.Deleted::migrationId)
                .contains("notes load", "notes fix");

        try (Connection s = admin.connect()) {
            assertThat(SearchPathAttack.callsSince(s, mark)).as("look-alikes run by list, show, export, cleanup")
                    .isEmpty();
        }
        assertThat(engine.list()).extracting(MigrationSummary::migrationId).doesNotContain("notes load", "notes fix");
    }

    /** A data source whose every connection is an attacked session of the admin, the look-alikes live in it. */
    private static DataSource attackedAdmin() throws SQLException {
        PGSimpleDataSource attacked = new PGSimpleDataSource() {
            @Override
            public Connection getConnection() throws SQLException {
                Connection c = super.getConnection();
                SearchPathAttack.lure(c);
                return c;
            }
        };
        attacked.setUrl(DB.url());
        attacked.setUser(admin.user());
        attacked.setPassword(admin.password());
        try (Connection probe = attacked.getConnection()) {
            assertThat(SearchPathAttack.probe(probe))
                    .isEqualTo(SearchPathAttack.LOOK_ALIKES.stream().map(l -> l + " as " + admin.user()).toList());
        }
        return attacked;
    }

    /** Sets up an attacked session and checks that the look-alikes are live in it. */
    private static void lureAndProbe(Connection session, Login login) throws SQLException {
        SearchPathAttack.lure(session);
        assertThat(SearchPathAttack.probe(session))
                .isEqualTo(SearchPathAttack.LOOK_ALIKES.stream().map(l -> l + " as " + login.user()).toList());
    }

    private static String change(String table, String op, int id, String name) {
        return table + " " + op + " " + id + " " + name;
    }

    /** The schemas of a search_path setting, as proconfig holds it ({@code search_path=a, "b"}); empty if none. */
    private static List<String> searchPath(String config) {
        for (String setting : config.split("\n")) {
            if (setting.startsWith("search_path=")) {
                List<String> path = new ArrayList<>();
                for (String schema : setting.substring("search_path=".length()).split(",")) {
                    String s = schema.strip();
                    path.add(s.startsWith("\"") ? s.substring(1, s.length() - 1).replace("\"\"", "\"") : s);
                }
                return path;
            }
        }
        return List.of();
    }

    private static boolean schemaExists(Connection c, String schema) throws SQLException {
        return !column(c, "select nspname::text from pg_namespace where nspname = ?", schema).isEmpty();
    }

    private static void exec(Connection c, String... statements) throws SQLException {
        try (Statement s = c.createStatement()) {
            for (String sql : statements) {
                s.execute(sql);
            }
        }
    }

    private static List<String> column(Connection c, String sql, Object... args) throws SQLException {
        List<String> values = new ArrayList<>();
        for (List<String> row : query(c, sql, args)) {
            values.add(row.get(0));
        }
        return values;
    }

    private static List<List<String>> query(Connection c, String sql, Object... args) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                if (args[i] instanceof String[] texts) {
                    ps.setArray(i + 1, c.createArrayOf("text", texts));
                } else {
                    ps.setObject(i + 1, args[i]);
                }
            }
            try (ResultSet rs = ps.executeQuery()) {
                List<List<String>> rows = new ArrayList<>();
                int columns = rs.getMetaData().getColumnCount();
                while (rs.next()) {
                    List<String> row = new ArrayList<>();
                    for (int i = 1; i <= columns; i++) {
                        row.add(rs.getString(i));
                    }
                    rows.add(row);
                }
                return rows;
            }
        }
    }
}
