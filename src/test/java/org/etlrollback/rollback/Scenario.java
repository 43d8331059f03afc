package org.etlrollback.rollback;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import org.etlrollback.Reverser;
import org.etlrollback.TableState;
import org.etlrollback.TestDatabase;
import org.jooq.DSLContext;

/**
 * The moves a rollback scenario makes on its test database: run SQL, tagged with a migration id or not, and
 * read back table contents and migration statuses.
 */
final class Scenario {
    private final TestDatabase db;

    Scenario(TestDatabase db) {
        this.db = db;
    }

    TestDatabase db() {
        return db;
    }

    DSLContext dsl() {
        return db.dsl();
    }

    Reverser reverser() {
        return Reverser.using(db.dataSource());
    }

    /** Runs the statements in one session, untagged (in one transaction, as JDBC sends them). */
    void sql(String statements) throws SQLException {
        try (Connection c = db.connect(); Statement s = c.createStatement()) {
            s.execute(statements);
        }
    }

    /** Runs the statements in one session tagged with the migration id (in one transaction, as JDBC sends them). */
    void tagged(String migrationId, String statements) throws SQLException {
        try (Connection c = db.connect(); Statement s = c.createStatement()) {
            tag(c, migrationId);
            s.execute(statements);
        }
    }

    /** Tags the session of the connection with the migration id. */
    static void tag(Connection connection, String migrationId) throws SQLException {
        try (Statement s = connection.createStatement()) {
            s.execute("select set_config('etl_rollback.migration_id', '" + migrationId.replace("'", "''")
                    + "', false)");
        }
    }

    /**
     * Forgets every migration, so that the next test can use the same ids. The logs of tables dropped since stay
     * behind, unreferenced.
     */
    void forgetMigrations() throws SQLException {
        sql("""
                delete from etl_rollback.checkpoint;
                delete from etl_rollback.statement;
                delete from etl_rollback.migration;
                """);
    }

    /** Every row of every table, as text, by table name. */
    Map<String, String> state(String... tables) {
        return TableState.of(db.dsl(), tables);
    }

    String rows(String table) {
        return TableState.rows(db.dsl(), table);
    }

    /** The status of the migration in etl_rollback.migrations. */
    String status(String migrationId) {
        return db.dsl().resultQuery("select status from etl_rollback.migrations where migration_id = ?", migrationId)
                .fetchSingle(0, String.class);
    }

    /** Whether etl_rollback.migrations has a row for the id. */
    boolean migrationExists(String migrationId) {
        return count("select count(*) from etl_rollback.migrations where migration_id = ?", migrationId) > 0;
    }

    long count(String query, Object... bindings) {
        return db.dsl().resultQuery(query, bindings).fetchSingle(0, Long.class);
    }

    String text(String query, Object... bindings) {
        return db.dsl().resultQuery(query, bindings).fetchSingle(0, String.class);
    }
}
