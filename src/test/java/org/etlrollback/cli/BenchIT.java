package org.etlrollback.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.etlrollback.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The benchmark harness at a tiny scale: every figure present, every rollback exact. */
class BenchIT {
    private static final TestDatabase DB = TestDatabase.forClass(BenchIT.class);

    @Test
    void benchReportsEveryFigureAndExactRollbacks(@TempDir Path dir) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Path chart = dir.resolve("bench.svg");
        int exitCode = Main.execute(new String[] {"--url", DB.url(), "--user", DB.user(), "--password", DB.password(),
                        "bench", "--scale", "0.004", "--repetitions", "1", "--json", "--chart", chart.toString()},
                Map.of(), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));

        assertThat(exitCode).as(err.toString(StandardCharsets.UTF_8)).isZero();
        JsonNode json = new ObjectMapper().readTree(out.toString(StandardCharsets.UTF_8));
        assertThat(json.get("exact").asBoolean()).isTrue();
        assertThat(json.get("scale").asDouble()).isEqualTo(0.004);
        for (String key : new String[] {"capture_overhead_untagged", "capture_overhead_tagged",
                "capture_overhead_row_at_a_time", "log_bytes_per_change", "rollback_ratio",
                "rollback_ratio_row_at_a_time", "selective_independence", "snapshot_restore_ratio",
                "naive_replay_ratio"}) {
            assertThat(json.get(key)).as(key).isNotNull();
            assertThat(json.get(key).asDouble()).as(key).isPositive();
        }
        assertThat(json.get("growth").size()).isEqualTo(3);
        assertThat(json.get("naive_replay_extrapolated").asBoolean()).isTrue();
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("bench: repetition 1 of 1");
        assertThat(Files.readString(chart)).startsWith("<svg").contains("rollback / untracked (W1)").endsWith("</svg>\n");
        assertThat(DB.dsl().fetchValue("select count(*) from pg_namespace where nspname like 'etl_rollback_bench%'"))
                .isEqualTo(0L);
    }
}
