package org.etlrollback.proof;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollbackException;
import org.etlrollback.Reverser;
import org.etlrollback.RollbackResult;
import org.etlrollback.TableState;
import org.etlrollback.TestDatabase;
import org.etlrollback.cli.CliProcess;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Migration ids chosen to break things: empty, unknown, as long as an id may be, far longer, and full of quotes,
 * semicolons, comment and format markers and characters outside ASCII, through the Reverser and the command line.
 */
class HostileIdsIT {
    private static final TestDatabase DB = TestDatabase.forClass(HostileIdsIT.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    @BeforeEach
    void table() throws SQLException {
        DB.execute("""
                delete from etl_rollback.checkpoint;
                delete from etl_rollback.statement;
                delete from etl_rollback.migration;
                drop schema if exists hostile cascade;
                create schema hostile;
                create table hostile.items (id int primary key, note text);
                insert into hostile.items select g, 'item ' || g from generate_series(1, 10) g;
                select etl_rollback.track('hostile.items');
                """);
    }

    @Test
    void migrationOfTheLongestIdIsRolledBackAndItsRollbackToo() throws SQLException {
        String id = ("ü😀 '\"; -- " + "x".repeat(200)).substring(0, 201);
        assertThat(id.codePointCount(0, id.length())).isEqualTo(200);
        String before = rows();
        DB.executeTagged(id, "update hostile.items set note = 'changed' where id <= 5");
        String migrated = rows();

        RollbackResult result = Reverser.using(DB.dataSource()).rollback(id);

        assertThat(result.outcome()).isEqualTo(RollbackResult.Outcome.ROLLED_BACK);
        assertThat(rows()).isEqualTo(before);
        // rollback:<id> would be 209 characters: it is cut to 200 and made unique by the migration's number
        assertThat(result.rollbackId()).startsWith("rollback:ü😀 '\"; -- xxx").matches("(?s).*…~\\d+");
        assertThat(result.rollbackId().codePointCount(0, result.rollbackId().length())).isEqualTo(200);
        assertThat(rollbackOf(result.rollbackId())).isEqualTo(id);

        RollbackResult undone = Reverser.using(DB.dataSource()).rollback(result.rollbackId());
        assertThat(undone.outcome()).isEqualTo(RollbackResult.Outcome.ROLLED_BACK);
        assertThat(rows()).isEqualTo(migrated);
        assertThat(status(id)).isEqualTo("active");

        RollbackResult again = Reverser.using(DB.dataSource()).rollback(id);
        assertThat(again.rollbackId()).endsWith("#2").isNotEqualTo(result.rollbackId());
        assertThat(rows()).isEqualTo(before);
    }

    @Test
    void idOfTenKilobytesIsRefusedByTheCaptureTheReverserAndTheCommandLine() throws SQLException {
        String id = "k".repeat(10 * 1024);
        assertThatThrownBy(() -> DB.executeTagged(id, "update hostile.items set note = 'changed' where id = 1"))
                .isInstanceOf(SQLException.class)
                .hasMessageContaining("is 10240 characters long; at most 200 are allowed");

        assertThatThrownBy(() -> Reverser.using(DB.dataSource()).rollback(id))
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.FAILED))
                .hasMessageContaining("unknown migration id kkkk")
                .hasMessageContaining("(10240 characters)")
                .satisfies(e -> assertThat(e.getMessage()).hasSizeLessThan(500));

        CliProcess.Outcome cli = CliProcess.run(environment(), "rollback", id);
        assertThat(cli.exitCode()).as(cli.toString()).isEqualTo(1);
        assertThat(cli.err()).contains("unknown migration id kkkk").contains("(10240 characters)");
        assertThat(cli.all()).hasSizeLessThan(2000);
    }

    @Test
    void emptyAndUnknownIdsAreRefusedByTheReverserAndTheCommandLineChangingNothing() throws SQLException {
        DB.executeTagged("known", "update hostile.items set note = 'changed' where id <= 3");
        String migrated = rows();

        assertThatThrownBy(() -> Reverser.using(DB.dataSource()).rollback(""))
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.USAGE))
                .hasMessageContaining("rollback: name a migration id")
                .hasMessageContaining("Nothing was changed");
        CliProcess.Outcome empty = CliProcess.run(environment(), "rollback", "");
        assertThat(empty.exitCode()).as(empty.toString()).isEqualTo(2);
        assertThat(empty.err()).contains("rollback: name a migration id");

        for (String unknown : List.of("unknown", "x'; drop table hostile.items; --", "ü😀 \"nowhere\"", " ")) {
            assertThatThrownBy(() -> Reverser.using(DB.dataSource()).rollback(unknown))
                    .isInstanceOfSatisfying(EtlRollbackException.class,
                            e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.FAILED))
                    .hasMessageContaining("unknown migration id " + unknown);
            CliProcess.Outcome cli = CliProcess.run(environment(), "rollback", unknown, "--on-conflict", "force");
            assertThat(cli.exitCode()).as(cli.toString()).isEqualTo(1);
            assertThat(cli.err()).contains("unknown migration id " + unknown);
            assertThat(cli.out()).isEmpty();
        }

        assertThat(rows()).isEqualTo(migrated);
        assertThat(status("known")).isEqualTo("active");
        assertThat(count("select count(*) from etl_rollback.migrations")).isEqualTo(1);
    }

    @Test
    void idsFullOfQuotesSemicolonsAndUnicodeAreRolledBackThroughTheCommandLine() throws Exception {
        List<String> ids = List.of("x'; drop table hostile.items; --", "ü😀 \"quoted\" \\ back\\slash",
                "%s%n${jndi:ldap://x}", "rollback:m1", " spaces around ", "NULL", "שלום e\u0301");
        String before = rows();
        List<String> outputs = new ArrayList<>();
        for (int i = 0; i < ids.size(); i++) {
            String id = ids.get(i);
            DB.executeTagged(id, "update hostile.items set note = note || ' " + i + "' where id in (" + (i + 1) + ", 10)");
        }
        // newest first, each on its own: then no rollback meets a conflict
        for (int i = ids.size() - 1; i >= 0; i--) {
            String id = ids.get(i);
            CliProcess.Outcome dryRun = CliProcess.run(environment(), "rollback", id, "--dry-run", "--json");
            assertThat(dryRun.exitCode()).as(dryRun.toString()).isZero();
            JsonNode plan = JSON.readTree(dryRun.out());
            assertThat(plan.get("migration_id").asText()).isEqualTo(id);
            assertThat(plan.get("rows_restored").asLong()).isEqualTo(2);
            assertThat(plan.get("method").asText()).isEqualTo("none");

            CliProcess.Outcome done = CliProcess.run(environment(), "rollback", id);
            assertThat(done.exitCode()).as(done.toString()).isZero();
            assertThat(done.out()).contains(id);
            outputs.add(done.out().lines().findFirst().orElse(""));
            assertThat(status(id)).isEqualTo("rolled_back");
        }
        assertThat(rows()).isEqualTo(before);
        assertThat(count("select count(*) from etl_rollback.migrations where migration_id like 'rollback:%'"))
                .isEqualTo(ids.size() + 1);
        assertThat(outputs).hasSize(ids.size());
    }

    @Test
    void launcherRunsWithUnicodeIdsUnderAnAsciiLocale() throws Exception {
        String id = "m3 ü😀";
        String before = rows();
        DB.executeTagged(id, "update hostile.items set note = 'changed' where id = 3");
        Path launcher = Path.of("bin", "etl-rollback").toAbsolutePath();
        ProcessBuilder builder = new ProcessBuilder(launcher.toString(), "rollback", id)
                .redirectErrorStream(true);
        builder.environment().keySet().removeIf(name -> name.startsWith("ETL_ROLLBACK_") || name.startsWith("PG")
                || name.startsWith("LC_") || name.equals("LANG"));
        builder.environment().putAll(environment());
        builder.environment().put("LC_ALL", "C");
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(process.waitFor()).as(output).isZero();
        assertThat(output).contains(id);
        assertThat(rows()).isEqualTo(before);
    }

    private static Map<String, String> environment() {
        return Map.of("ETL_ROLLBACK_URL", DB.url(), "ETL_ROLLBACK_USER", DB.user(),
                "ETL_ROLLBACK_PASSWORD", DB.password(), "LC_ALL", "C.UTF-8");
    }

    private static String rows() {
        return TableState.rows(DB.dsl(), "hostile.items");
    }

    private static String status(String migrationId) throws SQLException {
        return text("select status from etl_rollback.migrations where migration_id = ?", migrationId);
    }

    private static String rollbackOf(String migrationId) throws SQLException {
        return text("select rollback_of from etl_rollback.migrations where migration_id = ?", migrationId);
    }

    private static String text(String query, String parameter) throws SQLException {
        try (Connection c = DB.connect(); PreparedStatement ps = c.prepareStatement(query)) {
            ps.setString(1, parameter);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    private static long count(String query) throws SQLException {
        try (Connection c = DB.connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(query)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
