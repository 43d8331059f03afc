package org.etlrollback.rollback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.sql.SQLException;
import java.util.Map;
import org.etlrollback.RollbackOptions;
import org.etlrollback.TestDatabase;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A --sql script restores the rows as they were planned, in the order of statements that carried the plan out when
 * it was written; each of its updates and inserts checks that it changed the rows planned, so that a row gone since
 * stops it whole.
 */
class SqlScriptChecksIT {
    private static final Scenario DB = new Scenario(TestDatabase.forClass(SqlScriptChecksIT.class));
    private static final String[] TABLES = {"script.parents", "script.children"};

    @BeforeEach
    void schema() throws SQLException {
        DB.forgetMigrations();
        DB.sql("""
                drop schema if exists script cascade;
                create schema script;
                create table script.parents (id int primary key, name text);
                create table script.children (id int primary key,
                    parent_id int references script.parents on delete cascade on update cascade, note text);
                insert into script.parents values (1, 'a'), (2, 'b');
                insert into script.children values (10, 1, 'x'), (20, 2, 'y');
                select etl_rollback.track('script.parents');
                select etl_rollback.track('script.children');
                """);
    }

    @Test
    void scriptWritesItsStatementsInAnOrderNoForeignKeyActionBreaks(@TempDir Path dir) throws Exception {
        Map<String, String> before = DB.state(TABLES);
        // the key update cascades to child 10: deleting parent 100 before child 10 is repointed would delete it
        DB.tagged("m1", "update script.parents set id = 100 where id = 1");
        Path script = dir.resolve("rollback.sql");
        DB.reverser().rollback("m1", RollbackOptions.defaults().withDryRun(true).withSqlFile(script));

        DB.runScript(script, "");

        assertThat(DB.state(TABLES)).isEqualTo(before);
        assertThat(DB.status("m1")).isEqualTo("rolled_back");
    }

    @Test
    void scriptStopsWhenARowItRestoresWentSinceItWasPlanned(@TempDir Path dir) throws Exception {
        DB.tagged("m1", "update script.children set note = 'z'");
        Path script = dir.resolve("rollback.sql");
        DB.reverser().rollback("m1", RollbackOptions.defaults().withDryRun(true).withSqlFile(script));
        DB.sql("delete from script.children where id = 20");
        Map<String, String> current = DB.state(TABLES);

        assertThatThrownBy(() -> DB.runScript(script, ""))
                .isInstanceOf(SQLException.class)
                .hasMessageContaining("UPDATE \"script\".\"children\" changed 1 of the 2 row(s) planned");

        assertThat(DB.state(TABLES)).isEqualTo(current);
        assertThat(DB.status("m1")).isEqualTo("active");
    }

    @Test
    void scriptThatFindsTheRowsAsPlannedRestoresThem(@TempDir Path dir) throws Exception {
        Map<String, String> before = DB.state(TABLES);
        DB.tagged("m1", """
                insert into script.parents values (3, 'c');
                update script.children set note = 'z', parent_id = 3 where id = 20;
                delete from script.children where id = 10;
                """);
        Path script = dir.resolve("rollback.sql");
        DB.reverser().rollback("m1", RollbackOptions.defaults().withDryRun(true).withSqlFile(script));

        DB.runScript(script, "");

        assertThat(DB.state(TABLES)).isEqualTo(before);
        assertThat(DB.status("m1")).isEqualTo("rolled_back");
    }

    @Test
    void scriptRunASecondTimeStopsWithNothingChanged(@TempDir Path dir) throws Exception {
        DB.tagged("m1", "delete from script.children where id = 10");
        Path script = dir.resolve("rollback.sql");
        DB.reverser().rollback("m1", RollbackOptions.defaults().withDryRun(true).withSqlFile(script));
        DB.runScript(script, "");
        DB.reverser().rollback("rollback:m1");
        Map<String, String> current = DB.state(TABLES);

        assertThatThrownBy(() -> DB.runScript(script, ""))
                .isInstanceOf(SQLException.class)
                .hasMessageContaining("the rollback id 'rollback:m1' is taken already");

        assertThat(DB.state(TABLES)).isEqualTo(current);
        assertThat(DB.status("m1")).isEqualTo("active");
    }

    @Test
    void scriptThatUndoesARollbackPutsTheMigrationBackInForce(@TempDir Path dir) throws Exception {
        DB.tagged("m1", "update script.children set note = 'z' where id = 20");
        Map<String, String> afterM1 = DB.state(TABLES);
        DB.reverser().rollback("m1");
        Path script = dir.resolve("undo.sql");
        DB.reverser().rollback("rollback:m1", RollbackOptions.defaults().withDryRun(true).withSqlFile(script));

        DB.runScript(script, "");

        assertThat(DB.state(TABLES)).isEqualTo(afterM1);
        assertThat(DB.status("rollback:m1")).isEqualTo("rolled_back");
        assertThat(DB.status("m1")).isEqualTo("active");
    }
}
