package org.etlrollback.proof;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import net.jqwik.api.statistics.Statistics;
import org.etlrollback.Conflict;
import org.etlrollback.ConflictException;
import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollbackException;
import org.etlrollback.Reverser;
import org.etlrollback.RollbackOptions;
import org.etlrollback.RollbackResult;
import org.etlrollback.TableRollback;
import org.etlrollback.TestDatabase;
import org.etlrollback.proof.Model.Completed;
import org.etlrollback.proof.Model.Counts;
import org.etlrollback.proof.Model.ExpectedConflict;
import org.etlrollback.proof.Model.Fails;
import org.etlrollback.proof.Model.Prediction;
import org.etlrollback.proof.Model.Refused;
import org.etlrollback.proof.RandomSchema.Table;

/**
 * Runs one randomized history against the database and the {@link Model} side by side, and checks after every
 * rollback that the database, the rollback's result and the migrations' statuses are what the model predicts.
 * Every statement and outcome goes into a trace that a failure prints.
 */
final class History implements AutoCloseable {
    /** The migration ids of sessions 1 to 3: quotes, a semicolon, a comment, unicode. */
    static final List<String> MIGRATION_IDS = List.of("m1", "m2 'q'; --", "m3 ü😀");

    private final TestDatabase db;
    private final RandomSchema schema;
    private final Connection observer;
    private final List<Connection> sessions = new ArrayList<>();
    private final List<String> trace = new ArrayList<>();
    private final String snapshotQuery;
    private final Writes writes;
    private Model model;
    private long nextV = 1000;

    private History(TestDatabase db, RandomSchema schema) throws SQLException {
        this.db = db;
        this.schema = schema;
        this.observer = db.connect();
        try (Statement s = observer.createStatement()) {
            s.execute("set extra_float_digits = 3");
            s.execute(RESET);
            s.execute(schema.ddl());
        }
        trace.add(schema.ddl().strip());
        this.snapshotQuery = snapshotQuery();
        this.model = new Model(schema, snapshot());
        this.writes = new Writes(schema, () -> this.model);
        for (int session = 0; session <= MIGRATION_IDS.size(); session++) {
            Connection c = db.connect();
            sessions.add(c);
            if (session > 0) {
                try (PreparedStatement ps = c.prepareStatement(
                        "select set_config('etl_rollback.migration_id', ?, false)")) {
                    ps.setString(1, MIGRATION_IDS.get(session - 1));
                    ps.execute();
                }
            }
        }
    }

    /** Forgets every migration and tracked table of the previous history, then creates and tracks the tables. */
    static History start(TestDatabase db, RandomSchema schema) throws SQLException {
        return new History(db, schema);
    }

    private static final String RESET = """
            delete from etl_rollback.checkpoint;
            delete from etl_rollback.statement;
            delete from etl_rollback.migration;
            drop schema if exists prop cascade;
            delete from etl_rollback.tracked_column;
            delete from etl_rollback.tracked_table;
            select etl_rollback._refresh_changes_view();
            do $$
            declare
                r record;
            begin
                for r in select c.oid::regclass as rel from pg_catalog.pg_class c
                          where c.relnamespace = 'etl_rollback'::regnamespace and c.relkind = 'r'
                            and c.relname ~ '^log_[0-9]+$' loop
                    execute format('drop table %s', r.rel);
                end loop;
                for r in select p.oid::regprocedure as fn from pg_catalog.pg_proc p
                          where p.pronamespace = 'etl_rollback'::regnamespace and p.proname ~ '^_capture_[0-9]+_' loop
                    execute format('drop function %s', r.fn);
                end loop;
            end
            $$;
            """;

    String trace() {
        return String.join("\n", trace);
    }

    void run(Step step) throws SQLException {
        if (step instanceof Step.Write w) {
            write(w);
        } else {
            rollback((Step.Rollback) step);
        }
    }

    private void write(Step.Write step) throws SQLException {
        String tag = step.session() == 0 ? null : MIGRATION_IDS.get(step.session() - 1);
        String who = tag == null ? "untagged" : tag;
        Writes.Statement statement = writes.statement(step.op(), nextV++);
        if (statement == null) {
            trace.add("-- " + step + ": nothing to do");
            return;
        }
        trace.add(who + ": " + statement);
        boolean accepted = tag == null || model.acceptsWrites(tag);
        SQLException error = null;
        try {
            statement.execute(sessions.get(step.session()));
        } catch (SQLException e) {
            error = e;
        }
        Map<Table, TreeMap<String, Row>> after = snapshot();
        if (error != null) {
            String state = String.valueOf(error.getSQLState());
            trace.add("   -> failed: " + state + " " + firstLine(error.getMessage()));
            if (!state.startsWith("23") && !(state.equals("55000") && !accepted)) {
                throw new AssertionError("unexpected error from " + statement + ": " + error, error);
            }
            check(after.equals(model.state()), "a failed statement changed rows");
            return;
        }
        if (!accepted) {
            check(after.equals(model.state()), "a write tagged with " + tag + ", whose migration is "
                    + model.statuses().get(tag) + ", was accepted and changed rows");
        }
        model.recordWrite(tag, after);
    }

    private void rollback(Step.Rollback step) throws SQLException {
        List<String> ids = model.migrationIds();
        if (ids.isEmpty()) {
            trace.add("-- " + step + ": no migration to roll back");
            return;
        }
        String id = ids.get(step.target() % ids.size());
        RollbackOptions options = RollbackOptions.defaults().withOnConflict(step.policy()).withVerify(step.verify());
        if (step.dryRunFirst()) {
            run(id, options.withDryRun(true), model.rollback(id, step.policy(), true));
        }
        run(id, options, model.rollback(id, step.policy(), false));
    }

    private void run(String id, RollbackOptions options, Prediction expected) throws SQLException {
        String how = "rollback " + id + " --on-conflict " + options.onConflict().name().toLowerCase(java.util.Locale.ROOT)
                + (options.verify() ? " --verify" : "") + (options.dryRun() ? " --dry-run" : "");
        trace.add(how);
        trace.add("   expected: " + describe(expected));
        Map<String, String> statusesBefore = statuses();
        RollbackResult result = null;
        EtlRollbackException error = null;
        try {
            result = Reverser.using(db.dataSource()).rollback(id, options);
            trace.add("   -> " + result.outcome() + " " + result.rowsRestored() + " row(s), conflicts "
                    + conflicts(result) + (result.cascaded().isEmpty() ? "" : ", cascaded " + result.cascaded()));
        } catch (EtlRollbackException e) {
            error = e;
            trace.add("   -> " + e.getClass().getSimpleName() + ": " + firstLine(e.getMessage()));
        }
        Map<Table, TreeMap<String, Row>> after = snapshot();
        if (expected instanceof Completed c && error != null && orderLimited(error)) {
            // docs/rollback.md: with constraints that are not deferrable, a rollback whose result breaks none may
            // find no order of its statements that passes them; it must then change nothing
            checkEqual(diff(after, model.state()), "", "rows after a rollback that found no order");
            checkEqual(statuses(), statusesBefore, "statuses after a rollback that found no order");
            Statistics.label("rollbacks").collect(options.onConflict(), "NO_ORDER", !c.conflicts().isEmpty());
        } else if (expected instanceof Completed c) {
            check(error == null, "expected " + c.outcome() + " but the rollback failed: " + error);
            check(result.outcome() == c.outcome(), "outcome " + result.outcome() + ", expected " + c.outcome());
            check(result.rollbackId().equals(c.rollbackId()), "rollback id " + result.rollbackId()
                    + ", expected " + c.rollbackId());
            checkEqual(tables(result), c.tables(), "per-table counts");
            checkEqual(conflicts(result), c.conflicts(), "conflicts");
            checkEqual(result.cascaded(), c.cascaded(), "cascaded migrations");
            checkEqual(diff(after, c.after().state()), "", "rows after the rollback");
            checkEqual(statuses(), c.after().statuses(), "statuses");
            model = c.after();
            Statistics.label("rollbacks").collect(options.onConflict(),
                    options.dryRun() ? "DRY_RUN" : c.outcome().toString(), !c.conflicts().isEmpty());
        } else if (expected instanceof Refused r) {
            check(error instanceof ConflictException, "expected a refusal because of conflicts, got "
                    + (error == null ? result.outcome() : error));
            RollbackResult refused = ((ConflictException) error).result();
            checkEqual(refused.migrationId(), r.migrationId(), "refused migration");
            checkEqual(tables(refused), r.tables(), "per-table counts");
            checkEqual(conflicts(refused), r.conflicts(), "conflicts");
            checkEqual(diff(after, model.state()), "", "rows after a refused rollback");
            checkEqual(statuses(), statusesBefore, "statuses after a refused rollback");
            Statistics.label("rollbacks").collect(options.onConflict(), "REFUSED", true);
        } else {
            Fails f = (Fails) expected;
            check(error != null && !(error instanceof ConflictException) && error.errorCode() == ErrorCode.FAILED,
                    "expected the rollback to fail (" + f.why() + "), got "
                            + (error == null ? result.outcome() : error));
            checkEqual(diff(after, model.state()), "", "rows after a failed rollback");
            checkEqual(statuses(), statusesBefore, "statuses after a failed rollback");
            Statistics.label("rollbacks").collect(options.onConflict(), "FAILED", false);
        }
    }

    /** Whether the error is a rollback that found no order of its statements, in a schema where that may happen. */
    private boolean orderLimited(EtlRollbackException error) {
        boolean immediate = !schema.deferrableCode() || !schema.deferrableKeys();
        String message = String.valueOf(error.getMessage());
        return immediate && error.errorCode() == ErrorCode.FAILED
                && (message.contains("neither a set-based order nor replaying")
                        || message.contains("no set-based order satisfies the constraints"));
    }

    /**
     * Checks the log against the model: per migration, table and key, the net change of each transaction (the
     * before-image of its first change, the after-image of its last; a key change is a delete and an insert).
     */
    void checkLog() throws SQLException {
        record Side(List<Object> group, long stmt, int side, String image) {
        }
        List<Side> sides = new ArrayList<>();
        try (Statement s = observer.createStatement(); ResultSet rs = s.executeQuery("""
                select c.migration_id, c.table_name, c.txid, c.stmt,
                       case when c.old_row is not null then (select jsonb_object_agg(k, c.old_row -> k)
                                                             from unnest(t.key_columns) k)::text end,
                       case when c.new_row is not null then (select jsonb_object_agg(k, c.new_row -> k)
                                                             from unnest(t.key_columns) k)::text end,
                       c.old_row::text, c.new_row::text
                  from etl_rollback.changes c
                  join etl_rollback.tracked_tables t on t.table_name = c.table_name
                 order by c.seq""")) {
            while (rs.next()) {
                for (int side = 0; side <= 1; side++) {
                    String key = rs.getString(5 + side);
                    if (key != null) {
                        sides.add(new Side(List.of(rs.getString(1), rs.getString(2), rs.getLong(3), key),
                                rs.getLong(4), side, rs.getString(7 + side)));
                    }
                }
            }
        }
        // as a rollback reads the log: per key, its sides by statement, the before side first
        sides.sort(java.util.Comparator.comparingLong(Side::stmt).thenComparingInt(Side::side));
        Map<List<Object>, String[]> net = new LinkedHashMap<>();
        for (Side side : sides) {
            String[] n = net.computeIfAbsent(side.group(), k -> new String[] {side.side() == 0 ? side.image() : null,
                    null});
            n[1] = side.side() == 1 ? side.image() : null;
        }
        Map<String, List<String>> logged = new TreeMap<>();
        net.forEach((k, n) -> logged.computeIfAbsent(k.get(0) + " " + k.get(1) + " " + k.get(3),
                x -> new ArrayList<>()).add(n[0] + " -> " + n[1]));

        Map<List<Object>, String[]> modelNet = new LinkedHashMap<>();
        for (Model.Event e : model.events()) {
            if (e.migration() != null) {
                String[] n = modelNet.computeIfAbsent(List.of(e.migration(), e.table().qualified(), e.transaction(),
                        e.key()), k -> new String[] {e.before() == null ? null : e.before().json(), null});
                n[1] = e.after() == null ? null : e.after().json();
            }
        }
        Map<String, List<String>> modelled = new TreeMap<>();
        modelNet.forEach((k, n) -> modelled.computeIfAbsent(k.get(0) + " " + k.get(1) + " " + k.get(3),
                x -> new ArrayList<>()).add(n[0] + " -> " + n[1]));
        checkEqual(logged, modelled, "the log (etl_rollback.changes), per migration, table and key");
    }

    private void check(boolean condition, String message) {
        if (!condition) {
            throw new AssertionError(message);
        }
    }

    private <T> void checkEqual(T actual, T expected, String what) {
        if (!actual.equals(expected)) {
            throw new AssertionError(what + " differ:\n  actual:   " + actual + "\n  expected: " + expected);
        }
    }

    private static Map<String, Counts> tables(RollbackResult result) {
        Map<String, Counts> tables = new TreeMap<>();
        for (TableRollback t : result.tables()) {
            tables.put(t.table(), new Counts(t.deleted(), t.updated(), t.inserted(), t.unchanged(), t.conflicts()));
        }
        return tables;
    }

    private static Set<ExpectedConflict> conflicts(RollbackResult result) {
        Set<ExpectedConflict> conflicts = new HashSet<>();
        for (Conflict c : result.conflicts()) {
            conflicts.add(new ExpectedConflict(c.table(), c.key(), c.laterMigrations(), c.untagged()));
        }
        return conflicts;
    }

    private static String describe(Prediction p) {
        if (p instanceof Completed c) {
            return c.outcome() + (c.rollbackId().isEmpty() ? "" : " as " + c.rollbackId()) + ", conflicts "
                    + c.conflicts() + (c.cascaded().isEmpty() ? "" : ", cascaded " + c.cascaded());
        }
        if (p instanceof Refused r) {
            return "refused: " + r.migrationId() + " conflicts " + r.conflicts();
        }
        return "fails: " + ((Fails) p).why();
    }

    /** The rows that differ between two states, one line each; empty when none do. */
    private static String diff(Map<Table, TreeMap<String, Row>> actual, Map<Table, TreeMap<String, Row>> expected) {
        StringBuilder diff = new StringBuilder();
        for (Table table : Table.values()) {
            Set<String> keys = new java.util.TreeSet<>(actual.get(table).keySet());
            keys.addAll(expected.get(table).keySet());
            for (String key : keys) {
                Row a = actual.get(table).get(key);
                Row e = expected.get(table).get(key);
                if (a == null ? e != null : !a.equals(e)) {
                    diff.append("\n  ").append(table.qualified()).append(' ').append(key).append(": is ")
                            .append(a == null ? "absent" : a.text()).append(", expected ")
                            .append(e == null ? "absent" : e.text());
                }
            }
        }
        return diff.toString();
    }

    private Map<String, String> statuses() throws SQLException {
        Map<String, String> statuses = new TreeMap<>();
        try (Statement s = observer.createStatement();
             ResultSet rs = s.executeQuery("select migration_id, status from etl_rollback.migrations")) {
            while (rs.next()) {
                statuses.put(rs.getString(1), rs.getString(2));
            }
        }
        return statuses;
    }

    private Map<Table, TreeMap<String, Row>> snapshot() throws SQLException {
        Map<Table, TreeMap<String, Row>> state = new EnumMap<>(Table.class);
        for (Table table : Table.values()) {
            state.put(table, new TreeMap<>());
        }
        try (Statement s = observer.createStatement(); ResultSet rs = s.executeQuery(snapshotQuery)) {
            while (rs.next()) {
                Table table = Table.valueOf(rs.getString(1));
                List<String> key = rs.getString(4) == null ? List.of(rs.getString(3))
                        : List.of(rs.getString(3), rs.getString(4));
                Row row = new Row(table, rs.getString(2), key, rs.getString(5), rs.getString(6), rs.getString(7));
                state.get(table).put(row.key(), row);
            }
        }
        return state;
    }

    private static String snapshotQuery() {
        List<String> parts = new ArrayList<>();
        for (Table table : Table.values()) {
            String key = table.compositeKey() ? "jsonb_build_object('a', t.a, 'b', t.b)::text, t.a::text, t.b"
                    : "jsonb_build_object('id', t.id)::text, t.id::text, null::text";
            String extra = table.extra == null ? "null::text" : "t." + table.extra + "::text";
            parts.add("select '" + table.name() + "', " + key + ", t::text, to_jsonb(t)::text, " + extra + " from "
                    + table.qualified() + " t");
        }
        return parts.stream().collect(Collectors.joining("\nunion all "));
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "";
        }
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }

    @Override
    public void close() throws SQLException {
        for (Connection c : sessions) {
            c.close();
        }
        observer.close();
    }
}
