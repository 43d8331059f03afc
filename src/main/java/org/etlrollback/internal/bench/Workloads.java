package org.etlrollback.internal.bench;

import static org.jooq.impl.DSL.name;
import static org.jooq.impl.DSL.val;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.function.Consumer;
import org.jooq.DSLContext;
import org.jooq.Name;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;

/**
 * The standard data and workloads: customers and orders at a scale, W1 (four set-based statements), W2 (the same
 * mix as single-row statements in JDBC batches of 500). A workload runs in one of eleven slots: each slot
 * changes its own rows, so that several migrations can run on one data set without touching each other's rows.
 */
final class Workloads {
    static final int SLOTS = 11;
    private static final int BATCH = 500;

    private final double scale;

    Workloads(double scale) {
        this.scale = scale;
    }

    long customers() {
        return Math.round(500_000 * scale);
    }

    long orders() {
        return Math.round(1_000_000 * scale);
    }

    /** W1's four counts at a workload scale: inserted customers, updated customers, deleted and inserted orders. */
    static long[] w1Counts(double workScale) {
        return new long[] {Math.round(200_000 * workScale), Math.round(200_000 * workScale),
                Math.round(50_000 * workScale), Math.round(300_000 * workScale)};
    }

    static long w1Changes(double workScale) {
        long[] c = w1Counts(workScale);
        return c[0] + c[1] + c[2] + c[3];
    }

    /** Drops and recreates the two tables of a schema with the standard data. */
    void load(Connection connection, String schema) {
        DSLContext dsl = DSL.using(connection, SQLDialect.POSTGRES);
        Name customers = name(schema, "customers");
        Name orders = name(schema, "orders");
        dsl.execute("drop schema if exists {0} cascade", name(schema));
        dsl.execute("create schema {0}", name(schema));
        dsl.execute("create table {0} (id bigint primary key, name text, email text, balance numeric(12,2),"
                + " updated_at timestamptz)", customers);
        dsl.execute("create table {0} (id bigint primary key, customer_id bigint references {1} (id),"
                + " amount numeric(12,2), status text, created_at timestamptz)", orders, customers);
        dsl.execute("insert into {0} select g, 'customer ' || g, 'c' || g || '@example.com', (g % 10000) + 0.25,"
                + " timestamptz '2026-01-01' + g * interval '1 second' from generate_series(1, {1}) g",
                customers, val(customers()));
        dsl.execute("insert into {0} select g, 1 + g % {1}, (g % 1000) + 0.5, 'new',"
                + " timestamptz '2026-01-01' + g * interval '1 second' from generate_series(1, {2}) g",
                orders, val(customers()), val(orders()));
        dsl.execute("create index on {0} (customer_id)", orders);
        dsl.execute("vacuum analyze {0}", customers);
        dsl.execute("vacuum analyze {0}", orders);
    }

    /**
     * W1 at a workload scale in a slot, in one transaction, tagged when {@code migrationId} is not null.
     * Returns nanoseconds.
     */
    long w1(Connection connection, String schema, double workScale, int slot, String migrationId)
            throws SQLException {
        long[] c = w1Counts(workScale);
        long newCustomers = customers() * 10 + (long) slot * c[0] + 1;
        long updated = (long) slot * c[1] + 1;
        long deleted = orders() - (long) (slot + 1) * c[2] + 1;
        long newOrders = orders() * 10 + (long) slot * c[3] + 1;
        DSLContext dsl = DSL.using(connection, SQLDialect.POSTGRES);
        connection.setAutoCommit(false);
        long started = System.nanoTime();
        if (migrationId != null) {
            dsl.execute("select set_config('etl_rollback.migration_id', {0}, true)", val(migrationId));
        }
        dsl.execute("insert into {0} select g, 'customer ' || g, 'c' || g || '@example.com', 1.5, now()"
                + " from generate_series({1}, {2}) g", name(schema, "customers"), val(newCustomers),
                val(newCustomers + c[0] - 1));
        dsl.execute("update {0} set balance = balance * 1.1, updated_at = now() where id between {1} and {2}",
                name(schema, "customers"), val(updated), val(updated + c[1] - 1));
        dsl.execute("delete from {0} where id between {1} and {2}", name(schema, "orders"), val(deleted),
                val(deleted + c[2] - 1));
        dsl.execute("insert into {0} select g, {1} + (g % {2}), 9.99, 'new', now() from generate_series({3}, {4}) g",
                name(schema, "orders"), val(newCustomers), val(Math.max(1, c[0])), val(newOrders),
                val(newOrders + c[3] - 1));
        connection.commit();
        long elapsed = System.nanoTime() - started;
        connection.setAutoCommit(true);
        return elapsed;
    }

    /** W2's number of row changes: 20,000 at scale 1. */
    long w2Changes() {
        return Math.max(4, Math.round(20_000 * scale));
    }

    /** W2: W1's mix as single-row statements in JDBC batches of 500. Returns nanoseconds. */
    long w2(Connection connection, String schema, String migrationId) throws SQLException {
        long inserts = Math.max(1, w2Changes() * 200 / 750);
        long updates = w2Changes() * 200 / 750;
        long deletes = w2Changes() * 50 / 750;
        long orderInserts = w2Changes() - inserts - updates - deletes;
        long newCustomers = customers() * 20 + 1;
        long newOrders = orders() * 20 + 1;
        DSLContext dsl = DSL.using(connection, SQLDialect.POSTGRES);
        String customers = dsl.render(name(schema, "customers"));
        String orders = dsl.render(name(schema, "orders"));
        connection.setAutoCommit(false);
        long started = System.nanoTime();
        if (migrationId != null) {
            dsl.execute("select set_config('etl_rollback.migration_id', {0}, true)", val(migrationId));
        }
        batch(connection, "insert into " + customers + " values (?, 'c', 'c@example.com', 1.5, now())", inserts,
                (ps, i) -> ps.setLong(1, newCustomers + i));
        batch(connection, "update " + customers + " set balance = balance * 1.1, updated_at = now() where id = ?",
                updates, (ps, i) -> ps.setLong(1, customers() - i));
        batch(connection, "delete from " + orders + " where id = ?", deletes, (ps, i) -> ps.setLong(1, 1 + i * 3));
        batch(connection, "insert into " + orders + " values (?, ?, 9.99, 'new', now())", orderInserts,
                (ps, i) -> {
                    ps.setLong(1, newOrders + i);
                    ps.setLong(2, newCustomers + i % inserts);
                });
        connection.commit();
        long elapsed = System.nanoTime() - started;
        connection.setAutoCommit(true);
        return elapsed;
    }

    private interface Binder {
        void bind(PreparedStatement statement, long i) throws SQLException;
    }

    private static void batch(Connection connection, String sql, long count, Binder binder) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement(sql)) {
            for (long i = 0; i < count; i++) {
                binder.bind(statement, i);
                statement.addBatch();
                if ((i + 1) % BATCH == 0) {
                    statement.executeBatch();
                }
            }
            statement.executeBatch();
        }
    }

    /** A digest of both tables: every row's exact text, in key order. */
    static String digest(Connection connection, String schema) {
        DSLContext dsl = DSL.using(connection, SQLDialect.POSTGRES);
        return dsl.transactionResult(c -> {
            DSLContext tx = c.dsl();
            tx.execute("set local extra_float_digits = 3");
            StringBuilder digest = new StringBuilder();
            for (String table : new String[] {"customers", "orders"}) {
                digest.append(tx.resultQuery("select count(*) || ':' || coalesce(md5(string_agg(md5(t::text), ''"
                        + " order by t.id)), '') from {0} t", name(schema, table)).fetchSingle(0, String.class))
                        .append(' ');
            }
            return digest.toString();
        });
    }

    /** Bytes used by the engine's schema: tables, indexes and TOAST. */
    static long engineBytes(Connection connection) {
        return DSL.using(connection, SQLDialect.POSTGRES).resultQuery(
                "select coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint from pg_catalog.pg_class c"
                        + " where c.relnamespace = 'etl_rollback'::regnamespace and c.relkind in ('r', 'p')")
                .fetchSingle(0, Long.class);
    }

    static void progress(Consumer<String> progress, String step) {
        progress.accept(step);
    }
}
