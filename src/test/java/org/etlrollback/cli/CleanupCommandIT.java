package org.etlrollback.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;

import org.etlrollback.TestDatabase;
import org.etlrollback.cli.CliProcess.Outcome;
import org.etlrollback.transform.RollbackConfig.ArchiveCompression;
import org.etlrollback.transform.MigrationArchive;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** cleanup, run as a process on a log with an old and a new migration. */
class CleanupCommandIT {
    private TestDatabase db;

    @BeforeEach
    void oldAndNewMigrations() {
        db = TestDatabase.forClass(CleanupCommandIT.class);
        db.dsl().execute("""
                CREATE TABLE public.customers (id int PRIMARY KEY, name text);
                SELECT etl_rollback.track('public.customers');
                SET etl_rollback.migration_id = 'old_load';
                INSERT INTO public.customers VALUES (1, 'Ada'), (2, 'Grace');
                SELECT etl_rollback.checkpoint('loaded');
                UPDATE public.customers SET name = 'Grace H.' WHERE id = 2;
                SET etl_rollback.migration_id = 'new_load';
                INSERT INTO public.customers VALUES (3, 'Alan')""");
        // the old migration ran 40 days ago
        db.dsl().execute("""
                UPDATE etl_rollback.migration SET started_at = started_at - interval '40 days'
                 WHERE migration_id = 'old_load';
                UPDATE etl_rollback.statement SET changed_at = changed_at - interval '40 days'
                 WHERE mig = (SELECT mig FROM etl_rollback.migration WHERE migration_id = 'old_load');
                UPDATE etl_rollback.checkpoint SET created_at = created_at - interval '40 days'
                 WHERE mig = (SELECT mig FROM etl_rollback.migration WHERE migration_id = 'old_load')""");
    }

    private Outcome cli(String... args) {
        return CliProcess.run(Map.of("ETL_ROLLBACK_URL", db.url(), "ETL_ROLLBACK_USER", db.user(),
                "ETL_ROLLBACK_PASSWORD", db.password()), args);
    }

    /** Each migration with its rows in the log, statements and checkpoints, by id. */
    private List<String> log() {
        return db.dsl().fetch("""
                SELECT m.migration_id || ' ' || (SELECT count(*) FROM etl_rollback.changes c
                                                  WHERE c.migration_id = m.migration_id)
                       || ' ' || (SELECT count(*) FROM etl_rollback.statement s WHERE s.mig = m.mig)
                       || ' ' || (SELECT count(*) FROM etl_rollback.checkpoint k WHERE k.mig = m.mig)
                  FROM etl_rollback.migration m ORDER BY 1""").getValues(0, String.class);
    }

    @Test
    void aDryRunReportsTheOldMigrationAndChangesNothing() throws IOException {
        List<String> before = log();
        assertThat(before).containsExactly("new_load 1 1 0", "old_load 3 2 1");

        Outcome outcome = cli("cleanup", "--older-than", "30", "--dry-run", "--json");

        assertThat(outcome.exitCode()).as(outcome.toString()).isZero();
        JsonNode doc = new ObjectMapper().readTree(outcome.out());
        assertThat(doc.get("older_than_days").asInt()).isEqualTo(30);
        assertThat(doc.get("dry_run").asBoolean()).isTrue();
        assertThat(doc.get("migrations").asInt()).isEqualTo(1);
        assertThat(doc.get("log_rows").asLong()).isEqualTo(3);
        assertThat(doc.get("deleted")).hasSize(1);
        JsonNode deleted = doc.get("deleted").get(0);
        assertThat(deleted.get("migration_id").asText()).isEqualTo("old_load");
        assertThat(deleted.get("log_rows").asLong()).isEqualTo(3);
        assertThat(OffsetDateTime.parse(deleted.get("last_activity").asText())).isAtSameInstantAs(
                db.dsl().fetchSingle("SELECT max(changed_at) FROM etl_rollback.changes WHERE migration_id = 'old_load'")
                        .get(0, OffsetDateTime.class));
        assertThat(OffsetDateTime.parse(doc.get("cutoff").asText())).isBefore(OffsetDateTime.now().minusDays(29))
                .isAfter(OffsetDateTime.now().minusDays(31));
        assertThat(doc.get("kept")).isEmpty();
        assertThat(log()).isEqualTo(before);
    }

    @Test
    void cleanupDeletesExactlyTheOldMigrationsLog() {
        Outcome outcome = cli("cleanup", "--older-than", "30");

        assertThat(outcome.exitCode()).as(outcome.toString()).isZero();
        String[] lines = outcome.out().split("\\R");
        assertThat(lines).hasSize(2);
        assertThat(lines[0]).startsWith("deleted the logs of 1 migration last active more than 30 days ago (before ")
                .endsWith("): 3 log rows");
        assertThat(lines[1]).startsWith("  old_load  last active ").endsWith("  3 log rows");
        assertThat(log()).containsExactly("new_load 1 1 0");

        Outcome again = cli("cleanup", "--older-than", "30", "--dry-run");
        assertThat(again.exitCode()).as(again.toString()).isZero();
        assertThat(again.out()).startsWith("nothing to delete: no migration was last active more than 30 days ago");
    }

    @Test
    void cleanupArchivesEachMigrationBeforeDeletingIt(@TempDir Path dir) {
        Outcome outcome = cli("cleanup", "--older-than", "30", "--archive", dir.toString());

        assertThat(outcome.exitCode()).as(outcome.toString()).isZero();
        assertThat(log()).containsExactly("new_load 1 1 0");
        Path archived = dir.resolve(MigrationArchive.fileName("old_load", ArchiveCompression.GZIP));
        assertThat(archived).isRegularFile();

        MigrationArchive.using(db.dataSource()).importFrom(archived);
        assertThat(log()).containsExactly("new_load 1 1 0", "old_load 3 2 1");
    }

    @Test
    void anAgeThatIsNegativeOrNotANumberIsAUsageError() {
        for (String age : new String[] {"-1", "abc", "1.5", ""}) {
            Outcome outcome = cli("cleanup", "--older-than=" + age);
            assertThat(outcome.exitCode()).as(age + ": " + outcome).isEqualTo(2);
            assertThat(outcome.out()).as(age).isEmpty();
            assertThat(outcome.err()).as(age).contains("invalid --older-than '" + age + "'", "give 0 or more days",
                    "cleanup --help");
        }
        assertThat(cli("cleanup", "--older-than", "-5").err()).contains("a negative age");
        Outcome missing = cli("cleanup", "--dry-run");
        assertThat(missing.exitCode()).as(missing.toString()).isEqualTo(2);
        assertThat(missing.err()).contains("--older-than");
        assertThat(log()).hasSize(2);
    }
}
