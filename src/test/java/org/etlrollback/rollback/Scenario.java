package org.etlrollback.rollback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import org.assertj.core.api.AbstractThrowableAssert;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollbackException;
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
        db.executeTagged(migrationId, statements);
    }

    /**
     * Runs a --sql script in one session after the given settings, as psql would (JDBC knows no psql
     * meta-commands).
     */
    void runScript(Path script, String settings) throws IOException, SQLException {
        sql(settings + Files.readString(script).replace("\\set ON_ERROR_STOP on\n", ""));
    }

    /** Asserts that the call fails with an EtlRollbackException of ErrorCode.FAILED; its message is next. */
    static AbstractThrowableAssert<?, ? extends Throwable> assertFailed(ThrowingCallable call) {
        return assertThatThrownBy(call).isInstanceOfSatisfying(EtlRollbackException.class,
                e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.FAILED));
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
