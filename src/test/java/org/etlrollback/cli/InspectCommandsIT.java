package org.etlrollback.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.etlrollback.TestDatabase;
import org.etlrollback.cli.CliProcess.Outcome;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** list and show, run as a process: text and JSON, checked against what the database holds. */
class InspectCommandsIT {
    private static final TestDatabase DB = TestDatabase.forClass(InspectCommandsIT.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void migrations() {
        DB.dsl().execute("""
                CREATE TABLE public.customers (id int PRIMARY KEY, name text);
                CREATE TABLE public.orders (id int PRIMARY KEY, customer_id int REFERENCES public.customers);
                SELECT etl_rollback.track('public.customers');
                SELECT etl_rollback.track('public.orders')""");
        DB.dsl().execute("""
                SET etl_rollback.migration_id = 'load_a';
                SET etl_rollback.migration_name = 'customers and orders';
                INSERT INTO public.customers VALUES (1, 'Ada'), (2, 'Grace'), (3, 'Alan');
                SELECT etl_rollback.checkpoint('customers_loaded');
                INSERT INTO public.orders VALUES (10, 1), (11, 2);
                UPDATE public.customers SET name = 'Grace H.' WHERE id = 2;
                DELETE FROM public.orders WHERE id = 11""");
        DB.dsl().execute("""
                SET etl_rollback.migration_id = 'load_b';
                UPDATE public.customers SET name = 'Alan T.' WHERE id = 3""");
    }

    private static Outcome cli(String... args) {
        return CliProcess.run(Map.of("ETL_ROLLBACK_URL", DB.url(), "ETL_ROLLBACK_USER", DB.user(),
                "ETL_ROLLBACK_PASSWORD", DB.password()), args);
    }

    private static JsonNode json(Outcome outcome) throws IOException {
        assertThat(outcome.exitCode()).as(outcome.toString()).isZero();
        return JSON.readTree(outcome.out());
    }

    private static OffsetDateTime time(String sql) {
        return DB.dsl().fetchSingle(sql).get(0, OffsetDateTime.class);
    }

    private static List<String> texts(JsonNode array) {
        List<String> texts = new ArrayList<>();
        array.forEach(node -> texts.add(node.asText()));
        return texts;
    }

    @Test
    void listJsonHoldsEveryMigrationNewestFirstFieldByField() throws IOException {
        JsonNode doc = json(cli("list", "--json"));

        JsonNode migrations = doc.get("migrations");
        assertThat(migrations).hasSize(2);
        JsonNode b = migrations.get(0);
        assertThat(b.get("migration_id").asText()).isEqualTo("load_b");
        assertThat(b.get("name").isNull()).isTrue();
        assertThat(b.get("status").asText()).isEqualTo("active");
        assertThat(texts(b.get("tables"))).containsExactly("public.customers");
        assertThat(b.get("row_changes").asLong()).isEqualTo(1);
        JsonNode a = migrations.get(1);
        assertThat(a.get("migration_id").asText()).isEqualTo("load_a");
        assertThat(a.get("name").asText()).isEqualTo("customers and orders");
        assertThat(a.get("status").asText()).isEqualTo("active");
        assertThat(texts(a.get("tables"))).containsExactly("public.customers", "public.orders");
        assertThat(a.get("row_changes").asLong()).isEqualTo(3 + 2 + 1 + 1);
        assertThat(OffsetDateTime.parse(a.get("started_at").asText())).isAtSameInstantAs(
                time("SELECT started_at FROM etl_rollback.migrations WHERE migration_id = 'load_a'"));
        assertThat(OffsetDateTime.parse(a.get("last_change_at").asText())).isAtSameInstantAs(
                time("SELECT last_change_at FROM etl_rollback.migrations WHERE migration_id = 'load_a'"));
        assertThat(a.properties()).extracting(Map.Entry::getKey).containsExactly("migration_id", "name", "status",
                "started_at", "last_change_at", "tables", "row_changes");
    }

    @Test
    void listTextHasAHeaderAndOneLinePerMigration() {
        Outcome outcome = cli("list");

        assertThat(outcome.exitCode()).as(outcome.toString()).isZero();
        assertThat(outcome.err()).isEmpty();
        String[] lines = outcome.out().split("\\R");
        assertThat(lines).hasSize(3);
        assertThat(lines[0].split("\\s{2,}")).containsExactly("migration", "status", "started", "last change",
                "row changes", "tables");
        assertThat(lines[1].split("\\s{2,}")).containsExactly("load_b", "active",
                TextFormat.time(time("SELECT started_at FROM etl_rollback.migrations WHERE migration_id = 'load_b'")),
                TextFormat.time(time("SELECT last_change_at FROM etl_rollback.migrations WHERE migration_id = 'load_b'")),
                "1", "public.customers");
        assertThat(lines[2].split("\\s{2,}")).startsWith("load_a", "active").endsWith("7",
                "public.customers, public.orders");
    }

    @Test
    void showJsonHoldsTheCountsPerTableTheLogSizeAndTheCheckpoints() throws IOException {
        JsonNode a = json(cli("show", "load_a", "--json"));

        assertThat(a.get("migration_id").asText()).isEqualTo("load_a");
        assertThat(a.get("status").asText()).isEqualTo("active");
        assertThat(a.get("row_changes").asLong()).isEqualTo(7);
        assertThat(a.get("started_by").asText()).isEqualTo(DB.user());
        assertThat(a.get("rolled_back_at").isNull()).isTrue();
        assertThat(a.get("rollback_of").isNull()).isTrue();
        assertThat(a.get("rollbacks")).isEmpty();
        JsonNode tables = a.get("table_changes");
        assertThat(tables).hasSize(2);
        long logBytes = 0;
        String[][] expected = {{"public.customers", "3", "1", "0", "0"}, {"public.orders", "2", "0", "1", "0"}};
        for (int i = 0; i < expected.length; i++) {
            JsonNode t = tables.get(i);
            assertThat(new String[] {t.get("table").asText(), t.get("inserts").asText(), t.get("updates").asText(),
                t.get("deletes").asText(), t.get("truncates").asText()}).containsExactly(expected[i]);
            long tableLogBytes = DB.dsl().fetchSingle("SELECT sum(pg_column_size(l.*)) FROM "
                    + DB.dsl().fetchSingle("SELECT log_table FROM etl_rollback.tracked_tables WHERE table_name = ?",
                            t.get("table").asText()).get(0, String.class)
                    + " l JOIN etl_rollback.statement s USING (stmt) JOIN etl_rollback.migration m USING (mig)"
                    + " WHERE m.migration_id = 'load_a'").get(0, Long.class);
            assertThat(t.get("log_bytes").asLong()).isEqualTo(tableLogBytes);
            assertThat(t.get("log_table_bytes").asLong()).isGreaterThanOrEqualTo(8192);
            logBytes += tableLogBytes;
        }
        assertThat(a.get("log_bytes").asLong()).isEqualTo(logBytes);
        JsonNode checkpoint = a.get("checkpoints").get(0);
        assertThat(a.get("checkpoints")).hasSize(1);
        assertThat(checkpoint.get("name").asText()).isEqualTo("customers_loaded");
        assertThat(checkpoint.get("seq").asLong()).isEqualTo(DB.dsl().fetchSingle(
                "SELECT seq FROM etl_rollback.checkpoints WHERE migration_id = 'load_a'").get(0, Long.class));
        assertThat(OffsetDateTime.parse(checkpoint.get("created_at").asText())).isAtSameInstantAs(
                time("SELECT created_at FROM etl_rollback.checkpoints WHERE migration_id = 'load_a'"));
    }

    @Test
    void showTextHasTheStatusATableOfCountsAndTheCheckpoints() {
        Outcome outcome = cli("show", "load_a");

        assertThat(outcome.exitCode()).as(outcome.toString()).isZero();
        String out = outcome.out();
        assertThat(out).contains("migration    load_a\n", "name         customers and orders\n",
                "status       active\n", "row changes  7 in 2 tables\n", "checkpoints:\n  customers_loaded  ");
        assertThat(out.lines().filter(l -> l.startsWith("public.")).map(l -> String.join(" ",
                List.of(l.split("\\s+")).subList(0, 5))))
                .containsExactly("public.customers 3 1 0 0", "public.orders 2 0 1 0");
        assertThat(out.lines().filter(l -> l.startsWith("public."))).allMatch(l -> l.matches(".* bytes +\\d+ kB"));
    }

    @Test
    void showOfAnUnknownMigrationExitsWithOneAndSaysSo() {
        Outcome outcome = cli("show", "no_such_load");

        assertThat(outcome.exitCode()).as(outcome.toString()).isEqualTo(1);
        assertThat(outcome.out()).isEmpty();
        assertThat(outcome.err()).contains("unknown migration id no_such_load", "etl-rollback list");
    }

    @Test
    void showWithoutAnIdIsAUsageError() {
        Outcome outcome = cli("show");

        assertThat(outcome.exitCode()).as(outcome.toString()).isEqualTo(2);
        assertThat(outcome.out()).isEmpty();
        assertThat(outcome.err()).contains("ID");
    }

    @Test
    void anEmptyLogIsListedAsSuch() throws IOException {
        TestDatabase empty = TestDatabase.forClass(InspectCommandsIT.class);
        Map<String, String> env = Map.of("ETL_ROLLBACK_URL", empty.url(), "ETL_ROLLBACK_USER", empty.user(),
                "ETL_ROLLBACK_PASSWORD", empty.password());

        Outcome text = CliProcess.run(env, "list");
        assertThat(text.exitCode()).as(text.toString()).isZero();
        assertThat(text.out()).isEqualTo("no migrations in the log\n");
        assertThat(json(CliProcess.run(env, "list", "--json")).get("migrations")).isEmpty();
    }
}
