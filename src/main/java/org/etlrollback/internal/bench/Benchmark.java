package org.etlrollback.internal.bench;

import static org.jooq.impl.DSL.name;
import static org.jooq.impl.DSL.val;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import javax.sql.DataSource;
import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollbackException;
import org.etlrollback.Reverser;
import org.etlrollback.RollbackOptions;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;

/**
 * The standard benchmark: every figure is a ratio of two timings taken in the same run, the variants alternated
 * (A B, then B A) and the median taken over the repetitions. Every rollback is checked against a digest of the
 * tables before the workload. It works in two schemas of its own, {@value #PLAIN} (untracked) and
 * {@value #TRACKED}, which it drops at the end.
 */
public final class Benchmark {
    static final String PLAIN = "etl_rollback_bench_plain";
    static final String TRACKED = "etl_rollback_bench_tracked";
    /** How many logged changes the naive client-side replay is timed on, at most. */
    static final int NAIVE_REPLAY_ROWS = 20_000;

    private final DataSource dataSource;
    private final double scale;
    private final int repetitions;
    private final Consumer<String> progress;
    private final Map<String, List<Double>> timings = new LinkedHashMap<>();
    private final String runId = Long.toString(System.currentTimeMillis(), 36);
    private boolean exact = true;

    public Benchmark(DataSource dataSource, double scale, int repetitions, Consumer<String> progress) {
        if (!(scale > 0) || scale > 10) {
            throw new EtlRollbackException(ErrorCode.USAGE, "--scale must be above 0 and at most 10, was " + scale);
        }
        if (repetitions < 1) {
            throw new EtlRollbackException(ErrorCode.USAGE, "--repetitions must be at least 1, was " + repetitions);
        }
        this.dataSource = dataSource;
        this.scale = scale;
        this.repetitions = repetitions;
        this.progress = progress;
    }

    /** Three repetitions up to scale 0.3, one above (where one run takes minutes). */
    public static int defaultRepetitions(double scale) {
        return scale <= 0.3 ? 3 : 1;
    }

    public BenchmarkReport run() {
        try (Connection connection = dataSource.getConnection()) {
            Workloads workloads = new Workloads(scale);
            warmUp(connection);
            for (int r = 0; r < repetitions; r++) {
                repetition(connection, workloads, r);
            }
            Map<Double, Double> growth = growth(connection);
            dropSchemas(connection);
            return report(growth);
        } catch (SQLException e) {
            throw new EtlRollbackException(ErrorCode.FAILED, "benchmark failed: " + e.getMessage(), e);
        }
    }

    private void repetition(Connection connection, Workloads w, int r) throws SQLException {
        String step = "repetition " + (r + 1) + " of " + repetitions + ": ";
        long changes = Workloads.w1Changes(scale);

        // every compared pair starts from freshly loaded tables, so that neither pays for the other's dead rows
        progress.accept(step + "loading " + w.customers() + " customers and " + w.orders() + " orders, twice");
        loadBoth(connection, w);
        progress.accept(step + "W1 untracked and untagged on tracked tables");
        pair(r, "w1_untracked_for_untagged", () -> w.w1(connection, PLAIN, scale, 0, null),
                "w1_untagged", () -> w.w1(connection, TRACKED, scale, 0, null));

        progress.accept(step + "W2 untracked and tagged, and its rollback");
        String beforeW2 = Workloads.digest(connection, TRACKED);
        String w2 = id("w2", r);
        pair(r, "w2_untracked", () -> w.w2(connection, PLAIN, null),
                "w2_tagged", () -> w.w2(connection, TRACKED, w2));
        time("w2_rollback", rollback(w2));
        check(connection, beforeW2, "W2");

        progress.accept(step + "loading again");
        loadBoth(connection, w);
        String before = Workloads.digest(connection, TRACKED);
        progress.accept(step + "W1 untracked and tagged");
        String w1 = id("w1", r);
        long bytesBefore = Workloads.engineBytes(connection);
        pair(r, "w1_untracked", () -> w.w1(connection, PLAIN, scale, 0, null),
                "w1_tagged", () -> w.w1(connection, TRACKED, scale, 0, w1));
        timings.computeIfAbsent("log_bytes_per_change", k -> new ArrayList<>())
                .add((double) (Workloads.engineBytes(connection) - bytesBefore) / changes);

        progress.accept(step + "rollback of W1");
        time("w1_rollback", rollback(w1));
        check(connection, before, "W1");

        progress.accept(step + "naive client-side replay, timed on up to " + NAIVE_REPLAY_ROWS + " changes");
        time("naive_replay_w1_extrapolated", naiveReplay(connection, w, r));
        check(connection, before, "the naive replay's sample migration");

        progress.accept(step + "snapshot: copy, W1, restore");
        w.load(connection, PLAIN);
        time("snapshot_restore", snapshot(connection, w));

        progress.accept(step + "W3: one migration alone, then among ten others");
        selective(connection, w, r);
    }

    private interface Timed {
        long run() throws SQLException;
    }

    /** Times two variants, A then B in even repetitions and B then A in odd ones. */
    private void pair(int r, String nameA, Timed a, String nameB, Timed b) throws SQLException {
        if (r % 2 == 0) {
            time(nameA, a.run());
            time(nameB, b.run());
        } else {
            time(nameB, b.run());
            time(nameA, a.run());
        }
    }

    private void loadBoth(Connection connection, Workloads w) {
        w.load(connection, PLAIN);
        w.load(connection, TRACKED);
        track(connection);
    }

    /** Rolls back a small migration first, so that no timing pays for loading classes. */
    private void warmUp(Connection connection) throws SQLException {
        progress.accept("warming up");
        Workloads tiny = new Workloads(0.001);
        tiny.load(connection, TRACKED);
        track(connection);
        String id = id("warm-up", 0);
        tiny.w1(connection, TRACKED, 0.001, 0, id);
        rollback(id);
    }

    private void track(Connection connection) {
        DSLContext dsl = DSL.using(connection, SQLDialect.POSTGRES);
        dsl.execute("select etl_rollback.track({0})", val(TRACKED + ".customers"));
        dsl.execute("select etl_rollback.track({0})", val(TRACKED + ".orders"));
    }

    private long rollback(String migrationId) {
        long started = System.nanoTime();
        Reverser.using(dataSource).rollback(migrationId, RollbackOptions.defaults());
        return System.nanoTime() - started;
    }

    private void check(Connection connection, String expected, String what) {
        if (!expected.equals(Workloads.digest(connection, TRACKED))) {
            exact = false;
            progress.accept("NOT EXACT: the rollback of " + what + " left the tables different from before");
        }
    }

    /**
     * One inverse statement per logged row, sent from the client newest first, timed on a whole W1 of about
     * {@value #NAIVE_REPLAY_ROWS} changes (in its own slot) in a transaction that is then rolled back, and
     * extrapolated to W1 at the benchmark's scale. Returns nanoseconds.
     */
    private long naiveReplay(Connection connection, Workloads w, int r) throws SQLException {
        double sampleScale = Math.min(scale / 10, NAIVE_REPLAY_ROWS / (double) Workloads.w1Changes(1));
        String id = id("naive-replay", r);
        w.w1(connection, TRACKED, sampleScale, Workloads.SLOTS - 1, id);
        DSLContext dsl = DSL.using(connection, SQLDialect.POSTGRES);
        List<String[]> rows = new ArrayList<>();
        List<Long> seqs = new ArrayList<>();
        for (String table : new String[] {"customers", "orders"}) {
            Integer tableId = dsl.resultQuery(
                    "select table_id from etl_rollback.tracked_table where relid = {0}::regclass::oid::bigint",
                    val(TRACKED + "." + table)).fetchOne(0, Integer.class);
            dsl.resultQuery("select case when l.o1 is null then 'I' when l.n1 is null then 'D' else 'U' end, {0},"
                            + " coalesce(l.n1, l.o1)::text, l.o2::text, l.o3::text, l.o4::text, l.o5::text, l.seq"
                            + " from {1} l join etl_rollback.statement s on s.stmt = l.stmt"
                            + " join etl_rollback.migration m on m.mig = s.mig where m.migration_id = {2}",
                    val(table), name("etl_rollback", "log_" + tableId), val(id))
                    .fetch().forEach(row -> {
                        rows.add(new String[] {row.get(0, String.class), row.get(1, String.class),
                                row.get(2, String.class), row.get(3, String.class), row.get(4, String.class),
                                row.get(5, String.class), row.get(6, String.class)});
                        seqs.add(row.get(7, Long.class));
                    });
        }
        List<Integer> newestFirst = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            newestFirst.add(i);
        }
        newestFirst.sort((a, b) -> Long.compare(seqs.get(b), seqs.get(a)));
        connection.setAutoCommit(false);
        long started = System.nanoTime();
        for (int i : newestFirst) {
            replayOne(connection, rows.get(i));
        }
        long elapsed = System.nanoTime() - started;
        connection.rollback();
        connection.setAutoCommit(true);
        rollback(id);
        return rows.isEmpty() ? 0 : elapsed * Workloads.w1Changes(scale) / rows.size();
    }

    private static void replayOne(Connection connection, String[] row) throws SQLException {
        String table = TRACKED + "." + row[1];
        String sql = switch (row[0]) {
            case "I" -> "delete from " + table + " where id = ?::bigint";
            case "U" -> row[1].equals("customers")
                    ? "update " + table + " set name = ?, email = ?, balance = ?::numeric, updated_at = ?::timestamptz"
                            + " where id = ?::bigint"
                    : "update " + table + " set customer_id = ?::bigint, amount = ?::numeric, status = ?,"
                            + " created_at = ?::timestamptz where id = ?::bigint";
            default -> row[1].equals("customers")
                    ? "insert into " + table + " values (?::bigint, ?, ?, ?::numeric, ?::timestamptz)"
                    : "insert into " + table + " values (?::bigint, ?::bigint, ?::numeric, ?, ?::timestamptz)";
        };
        try (PreparedStatement statement = connection.prepareStatement(sql)) {
            switch (row[0]) {
                case "I" -> statement.setString(1, row[2]);
                case "U" -> {
                    statement.setString(1, row[3]);
                    statement.setString(2, row[4]);
                    statement.setString(3, row[5]);
                    statement.setString(4, row[6]);
                    statement.setString(5, row[2]);
                }
                default -> {
                    statement.setString(1, row[2]);
                    statement.setString(2, row[3]);
                    statement.setString(3, row[4]);
                    statement.setString(4, row[5]);
                    statement.setString(5, row[6]);
                }
            }
            statement.executeUpdate();
        }
    }

    /** Copy both tables, run W1, restore both from the copies (foreign key checked). Returns nanoseconds. */
    private long snapshot(Connection connection, Workloads w) throws SQLException {
        DSLContext dsl = DSL.using(connection, SQLDialect.POSTGRES);
        String before = Workloads.digest(connection, PLAIN);
        long started = System.nanoTime();
        dsl.execute("create table {0} as table {1}", name(PLAIN, "customers_copy"), name(PLAIN, "customers"));
        dsl.execute("create table {0} as table {1}", name(PLAIN, "orders_copy"), name(PLAIN, "orders"));
        long copy = System.nanoTime() - started;
        w.w1(connection, PLAIN, scale, 0, null);
        connection.setAutoCommit(false);
        started = System.nanoTime();
        dsl.execute("truncate {0}, {1}", name(PLAIN, "orders"), name(PLAIN, "customers"));
        dsl.execute("insert into {0} table {1}", name(PLAIN, "customers"), name(PLAIN, "customers_copy"));
        dsl.execute("insert into {0} table {1}", name(PLAIN, "orders"), name(PLAIN, "orders_copy"));
        connection.commit();
        long restore = System.nanoTime() - started;
        connection.setAutoCommit(true);
        if (!before.equals(Workloads.digest(connection, PLAIN))) {
            exact = false;
            progress.accept("NOT EXACT: the snapshot restore left the tables different from before");
        }
        return copy + restore;
    }

    /** W3: W1 at a tenth of the scale, rolled back alone, then among ten other migrations on other rows. */
    private void selective(Connection connection, Workloads w, int r) throws SQLException {
        double small = scale / 10;
        w.load(connection, TRACKED);
        track(connection);
        String before = Workloads.digest(connection, TRACKED);
        String alone = id("w3-alone", r);
        w.w1(connection, TRACKED, small, 0, alone);
        long aloneTime = rollback(alone);
        check(connection, before, "W3 alone");
        List<String> others = new ArrayList<>();
        String x = id("w3-x", r);
        for (int slot = 1; slot < Workloads.SLOTS; slot++) {
            if (slot == Workloads.SLOTS / 2 + 1) {
                w.w1(connection, TRACKED, small, 0, x);
            }
            String other = id("w3-other" + slot, r);
            w.w1(connection, TRACKED, small, slot, other);
            others.add(other);
        }
        String withOthers = Workloads.digest(connection, TRACKED);
        long amongTime = rollback(x);
        for (String other : others) {
            rollback(other);
        }
        check(connection, before, "W3 among ten others");
        time("w3_alone_rollback", aloneTime);
        time("w3_among_others_rollback", amongTime);
        if (withOthers.equals(before)) {
            exact = false;
            progress.accept("NOT EXACT: W3's migrations changed nothing");
        }
    }

    /** Per-change rollback time of W1 at a tenth, three tenths and all of the scale, in microseconds. */
    private Map<Double, Double> growth(Connection connection) throws SQLException {
        Map<Double, Double> growth = new HashMap<>();
        for (double fraction : new double[] {0.1, 0.3}) {
            double s = scale * fraction;
            progress.accept("growth: W1 and its rollback at scale " + s);
            Workloads w = new Workloads(s);
            w.load(connection, TRACKED);
            track(connection);
            String before = Workloads.digest(connection, TRACKED);
            String id = id("growth-" + fraction, 0);
            w.w1(connection, TRACKED, s, 0, id);
            long time = rollback(id);
            check(connection, before, "W1 at scale " + s);
            growth.put(s, time / 1e3 / Workloads.w1Changes(s));
        }
        growth.put(scale, median("w1_rollback") * 1e3 / Workloads.w1Changes(scale));
        return growth;
    }

    private void dropSchemas(Connection connection) {
        DSLContext dsl = DSL.using(connection, SQLDialect.POSTGRES);
        for (String table : new String[] {"customers", "orders"}) {
            dsl.execute("select etl_rollback.untrack({0})", val(TRACKED + "." + table));
        }
        dsl.execute("drop schema {0} cascade", name(PLAIN));
        dsl.execute("drop schema {0} cascade", name(TRACKED));
    }

    private BenchmarkReport report(Map<Double, Double> growth) {
        double w1 = median("w1_untracked");
        double w2 = median("w2_untracked");
        Map<String, Double> medians = new LinkedHashMap<>();
        timings.keySet().forEach(k -> medians.put(k, median(k)));
        medians.remove("log_bytes_per_change");
        return new BenchmarkReport(scale,
                median("w1_untagged") / median("w1_untracked_for_untagged"),
                median("w1_tagged") / w1,
                median("w2_tagged") / w2,
                median("log_bytes_per_change"),
                median("w1_rollback") / w1,
                median("w2_rollback") / w2,
                median("w3_among_others_rollback") / median("w3_alone_rollback"),
                growth,
                median("snapshot_restore") / w1,
                median("naive_replay_w1_extrapolated") / w1,
                exact, repetitions, medians);
    }

    private void time(String name, long nanos) {
        timings.computeIfAbsent(name, k -> new ArrayList<>()).add(nanos / 1e6);
    }

    private double median(String name) {
        List<Double> values = new ArrayList<>(timings.getOrDefault(name, List.of()));
        if (values.isEmpty()) {
            return 0;
        }
        values.sort(Double::compare);
        int n = values.size();
        return n % 2 == 1 ? values.get(n / 2) : (values.get(n / 2 - 1) + values.get(n / 2)) / 2;
    }

    private String id(String what, int repetition) {
        return "bench:" + runId + ":" + what + ":" + repetition;
    }
}
