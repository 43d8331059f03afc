package org.etlrollback.proof;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.etlrollback.EtlRollback;
import org.etlrollback.EtlRollbackException;
import org.etlrollback.Reverser;
import org.etlrollback.RollbackOptions;
import org.etlrollback.RollbackResult;
import org.etlrollback.TableState;
import org.etlrollback.TestDatabase;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tables near the column limit: a log row, and the plan of a rollback, hold two columns per column of the table,
 * and PostgreSQL allows 1600 columns in a table; etl-rollback tracks tables of up to 796 columns and refuses wider
 * ones when they are tracked, not when they are rolled back.
 */
class WideTablesIT {
    private static final TestDatabase DB = TestDatabase.forClass(WideTablesIT.class);
    private final EtlRollback etlRollback = EtlRollback.configure().dataSource(DB.dataSource()).load();

    @BeforeEach
    void schema() throws SQLException {
        DB.execute("""
                delete from etl_rollback.checkpoint;
                delete from etl_rollback.statement;
                delete from etl_rollback.migration;
                drop schema if exists wide cascade;
                create schema wide;
                """);
    }

    @Test
    void tableOfAThousandColumnsIsRefusedWhenTrackedNamingTheLimit() throws SQLException {
        DB.execute(createTable("wide.t1000", 1000));
        long logs = count("select count(*) from pg_class where relnamespace = 'etl_rollback'::regnamespace"
                + " and relname like 'log\\_%' and relkind = 'r'");

        assertThatThrownBy(() -> etlRollback.track("wide.t1000"))
                .isInstanceOf(EtlRollbackException.class)
                .hasMessageContaining("table wide.t1000 has 1000 columns; etl-rollback can track tables of at most 796")
                .hasMessageContaining("PostgreSQL allows at most 1600 columns in a table");

        assertThat(count("select count(*) from etl_rollback.tracked_tables where table_name = 'wide.t1000'")).isZero();
        assertThat(count("select count(*) from pg_class where relnamespace = 'etl_rollback'::regnamespace"
                + " and relname like 'log\\_%' and relkind = 'r'")).isEqualTo(logs);
    }

    @Test
    void tableOfOneColumnTooManyIsRefused() throws SQLException {
        DB.execute(createTable("wide.t797", 797));
        assertThatThrownBy(() -> etlRollback.track("wide.t797"))
                .hasMessageContaining("has 797 columns; etl-rollback can track tables of at most 796");
    }

    @Test
    void widestTrackableTableIsRolledBackExactly(@TempDir Path dir) throws Exception {
        DB.execute(createTable("wide.t796", 796) + """
                insert into wide.t796 (id, c2, c795) select g, g, 'v' || g from generate_series(1, 50) g;
                select etl_rollback.track('wide.t796');
                """);
        String before = TableState.rows(DB.dsl(), "wide.t796");
        DB.executeTagged("m1", """
                update wide.t796 set c2 = c2 * 10, c3 = 'set', c795 = null where id <= 20;
                delete from wide.t796 where id > 45;
                insert into wide.t796 (id, c401) values (100, 'new');
                """);

        Path script = dir.resolve("undo.sql");
        RollbackResult result = Reverser.using(DB.dataSource()).rollback("m1",
                RollbackOptions.defaults().withVerify(true).withSqlFile(script));

        assertThat(result.rowsRestored()).isEqualTo(20 + 5 + 1);
        assertThat(TableState.rows(DB.dsl(), "wide.t796")).isEqualTo(before);
        assertThat(Files.readString(script)).contains("c795");
    }

    @Test
    void logThatWouldOutgrowTheColumnLimitIsRefusedWhenTrackedAgain() throws SQLException {
        DB.execute(createTable("wide.altered", 700) + "select etl_rollback.track('wide.altered');");
        // 100 columns dropped and 100 added: the table has 700, its log keeps those of all 800
        DB.execute("alter table wide.altered " + IntStream.rangeClosed(2, 101).mapToObj(i -> "drop column c" + i)
                .collect(Collectors.joining(", ")) + ", "
                + IntStream.rangeClosed(1, 100).mapToObj(i -> "add column d" + i + " int")
                .collect(Collectors.joining(", ")));

        assertThatThrownBy(() -> etlRollback.track("wide.altered"))
                .isInstanceOf(EtlRollbackException.class)
                .hasMessageContaining("the log of table wide.altered would need more than 1600 columns");
        // the table stays tracked as it was: untagged writes go on, tagged ones fail until it is tracked again
        assertThat(count("select count(*) from etl_rollback.tracked_tables where table_name = 'wide.altered'"))
                .isEqualTo(1);
    }

    /** A table with an int key {@code id} and {@code columns - 1} more columns c2, c3, ...: ints and texts. */
    private static String createTable(String name, int columns) {
        return "create table " + name + " (id int primary key"
                + IntStream.rangeClosed(2, columns).mapToObj(i -> ", c" + i + (i % 2 == 0 ? " int" : " text"))
                .collect(Collectors.joining()) + ");\n";
    }

    private static long count(String query) throws SQLException {
        try (Connection c = DB.connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(query)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
