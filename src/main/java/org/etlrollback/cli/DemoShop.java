package org.etlrollback.cli;

import static org.jooq.impl.DSL.count;
import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.name;
import static org.jooq.impl.DSL.table;
import static org.jooq.impl.DSL.val;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollbackException;
import org.jooq.DSLContext;
import org.jooq.Record2;
import org.jooq.SQLDialect;
import org.jooq.exception.DataAccessException;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;

/**
 * The demo's shop: a schema {@code etl_rollback_demo} with customers and their orders, the nightly load that changes
 * them under a migration id, and what the tables hold. The SQL is in {@code org/etlrollback/demo/*.sql}.
 */
final class DemoShop {
    static final String SCHEMA = "etl_rollback_demo";
    static final List<String> TABLES = List.of(SCHEMA + ".customers", SCHEMA + ".orders");

    /** Rows per table, and a digest of their content in key order. */
    record Contents(Map<String, Long> rows, Map<String, String> digests) {
    }

    private final DataSource dataSource;

    DemoShop(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** Creates the schema and its rows; refuses when the schema exists already. */
    void create() {
        run(dsl -> {
            boolean exists = dsl.select(field("to_regnamespace({0}) is not null", Boolean.class, val(SCHEMA)))
                    .fetchSingle().value1();
            if (exists) {
                throw new EtlRollbackException(ErrorCode.FAILED, "the schema " + SCHEMA + " exists already: another "
                        + "demo is running, or an earlier one was interrupted. Drop it (DROP SCHEMA " + SCHEMA
                        + " CASCADE) and run the demo again.");
            }
            dsl.execute(script("shop.sql"));
        });
    }

    /** Runs the nightly load in a session tagged with the migration id. */
    void nightlyLoad(String migrationId, String migrationName) {
        run(dsl -> {
            dsl.select(field("set_config('etl_rollback.migration_id', {0}, false)", String.class, val(migrationId)),
                    field("set_config('etl_rollback.migration_name', {0}, false)", String.class, val(migrationName)))
                    .fetch();
            dsl.execute(script("etl.sql"));
            dsl.execute("reset etl_rollback.migration_id");
            dsl.execute("reset etl_rollback.migration_name");
        });
    }

    Contents contents() {
        Map<String, Long> rows = new LinkedHashMap<>();
        Map<String, String> digests = new LinkedHashMap<>();
        run(dsl -> {
            for (String table : TABLES) {
                String relation = table.substring(SCHEMA.length() + 1);
                Record2<Integer, String> r = dsl.select(count(),
                                field("md5(coalesce(string_agg({0}::text, '|' order by {1}), ''))",
                                        SQLDataType.VARCHAR, name("t"), field(name("t", "id"))))
                        .from(table(name(SCHEMA, relation)).as("t"))
                        .fetchSingle();
                rows.put(table, r.value1().longValue());
                digests.put(table, r.value2());
            }
        });
        return new Contents(rows, digests);
    }

    /** Drops the schema with its tables, if it is there. */
    void drop() {
        run(dsl -> dsl.execute("drop schema if exists {0} cascade", name(SCHEMA)));
    }

    private void run(Work work) {
        try (Connection connection = dataSource.getConnection()) {
            work.run(DSL.using(connection, SQLDialect.POSTGRES));
        } catch (SQLException | DataAccessException e) {
            throw new EtlRollbackException(ErrorCode.FAILED, "demo: " + rootMessage(e), e);
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getMessage();
    }

    private static String script(String name) {
        try (InputStream in = DemoShop.class.getResourceAsStream("/org/etlrollback/demo/" + name)) {
            if (in == null) {
                throw new IllegalStateException("the demo's script " + name + " is missing from the jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the demo's script " + name + ": " + e, e);
        }
    }

    @FunctionalInterface
    private interface Work {
        void run(DSLContext dsl) throws SQLException;
    }
}
