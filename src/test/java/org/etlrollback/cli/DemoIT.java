package org.etlrollback.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.etlrollback.TestDatabase;
import org.etlrollback.cli.CliProcess.Outcome;
import org.junit.jupiter.api.Test;

/** demo, end to end: on its own embedded PostgreSQL, and on a database given to it. */
class DemoIT {

    /** The row counts table of the demo's output: per table, before, after the load, after the rollback. */
    private static List<String> counts(String out) {
        return out.lines().filter(l -> l.matches("etl_rollback_demo\\.\\w+\\s+\\d+\\s+\\d+\\s+\\d+"))
                .map(l -> String.join(" ", l.trim().split("\\s+")))
                .toList();
    }

    private static void assertTheShopIsBack(Outcome outcome) {
        assertThat(outcome.exitCode()).as(outcome.toString()).isZero();
        String out = outcome.out();
        assertThat(out).contains("== 1. etl-rollback install", "tracking etl_rollback_demo.customers",
                "tracking etl_rollback_demo.orders", "== 5. etl-rollback list", "== 6. etl-rollback show demo_load_",
                "checkpoints:\n  customers_loaded", "== 7. etl-rollback rollback demo_load_",
                "verified: every restored row equals its before-image",
                "every row is back as it was before the load: yes\n");
        assertThat(out.lines().filter(l -> l.startsWith("etl_rollback_demo.") && l.contains(" bytes ")))
                .extracting(l -> String.join(" ", List.of(l.split("\\s+")).subList(0, 5)))
                .containsExactly("etl_rollback_demo.customers 2 3 1 0", "etl_rollback_demo.orders 4 8 3 0");
        assertThat(counts(out)).containsExactly("etl_rollback_demo.customers 5 6 5", "etl_rollback_demo.orders 8 9 8");
    }

    @Test
    void withNoDatabaseTheDemoRunsOnAnEmbeddedServerAndTheShopIsBack() {
        Outcome outcome = CliProcess.run(Map.of(), "demo");

        assertTheShopIsBack(outcome);
        assertThat(outcome.out()).startsWith("etl-rollback demo on an embedded PostgreSQL\n");
        assertThat(outcome.err()).contains("starting an embedded PostgreSQL", "stopping the embedded PostgreSQL");
    }

    @Test
    void onAGivenDatabaseTheDemoRunsAndRemovesWhatItMade() {
        TestDatabase db = TestDatabase.forClass(DemoIT.class);
        db.dsl().execute("DROP SCHEMA etl_rollback CASCADE");

        Outcome outcome = CliProcess.run(Map.of(), "--url", db.url(), "--user", db.user(), "--password",
                db.password(), "demo");

        assertTheShopIsBack(outcome);
        assertThat(outcome.out()).startsWith("etl-rollback demo on " + db.url() + "\n")
                .contains("installed etl-rollback schema version 3");
        assertThat(outcome.err()).contains("removed the demo: untracked its tables, deleted the log of demo_load_",
                "dropped the schema etl_rollback_demo");
        assertThat(db.dsl().fetchValue("SELECT to_regnamespace('etl_rollback_demo')")).isNull();
        assertThat(db.dsl().fetchValue("SELECT count(*) FROM etl_rollback.migrations")).isEqualTo(0L);
        assertThat(db.dsl().fetchValue("SELECT count(*) FROM etl_rollback.statement")).isEqualTo(0L);
        assertThat(db.dsl().fetchValue("SELECT count(*) FROM etl_rollback.tracked_tables")).isEqualTo(0L);
        assertThat(outcome.all()).doesNotContain(db.password());
    }

    @Test
    void aDemoSchemaLeftBehindIsNamedAndKept() {
        TestDatabase db = TestDatabase.forClass(DemoIT.class);
        db.dsl().execute("CREATE SCHEMA etl_rollback_demo; CREATE TABLE etl_rollback_demo.keep (id int)");

        Outcome outcome = CliProcess.run(Map.of("ETL_ROLLBACK_URL", db.url(), "ETL_ROLLBACK_USER", db.user(),
                "ETL_ROLLBACK_PASSWORD", db.password()), "demo");

        assertThat(outcome.exitCode()).as(outcome.toString()).isEqualTo(1);
        assertThat(outcome.err()).contains("the schema etl_rollback_demo exists already",
                "DROP SCHEMA etl_rollback_demo CASCADE");
        assertThat(db.dsl().fetchValue("SELECT to_regclass('etl_rollback_demo.keep')")).isNotNull();
    }
}
