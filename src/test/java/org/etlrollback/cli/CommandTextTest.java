package org.etlrollback.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;

import org.etlrollback.CleanupResult;
import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollbackException;
import org.etlrollback.MigrationDetail;
import org.etlrollback.MigrationSummary;
import org.etlrollback.MigrationSummary.Status;
import org.etlrollback.RollbackResult;
import org.etlrollback.TableRollback;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** How the commands parse their arguments and answers, and write their results; no database. */
class CommandTextTest {
    private static final OffsetDateTime T0 = OffsetDateTime.of(2026, 11, 2, 9, 15, 0, 0, ZoneOffset.UTC);

    private static MigrationSummary summary(String id, Status status) {
        return new MigrationSummary(id, Optional.of("nightly load"), status, T0, Optional.of(T0.plusMinutes(5)),
                List.of("shop.customers", "shop.orders"), 42);
    }

    @ParameterizedTest
    @CsvSource({"0,0", "30,30", "' 90 ',90", "000000090,90", "999999999,999999999"})
    void daysAreAWholeNumberFromZeroOn(String text, int days) {
        assertThat(CleanupCommand.parseDays(text)).isEqualTo(days);
    }

    @ParameterizedTest
    @ValueSource(strings = {"-1", "-30", "abc", "1.5", "", "30d", "+5"})
    void anythingElseIsAUsageErrorThatRepeatsTheValue(String text) {
        assertThatThrownBy(() -> CleanupCommand.parseDays(text))
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.USAGE))
                .hasMessageStartingWith("invalid --older-than '" + text + "': ")
                .hasMessageEndingWith("; give 0 or more days, e.g. --older-than 90")
                .hasMessageContaining(text.startsWith("-") ? "a negative age" : "not a whole number of days");
    }

    @Test
    void anAgeBeyondNineDigitsIsTooLarge() {
        assertThatThrownBy(() -> CleanupCommand.parseDays("1234567890"))
                .hasMessageContaining("too many days: at most 999999999");
    }

    @ParameterizedTest
    @CsvSource({"0,0 bytes", "10239,10239 bytes", "10240,10 kB", "1500000,1465 kB", "10485760,10 MB",
        "12884901888,12 GB"})
    void sizesAreWrittenAsPgSizePrettyDoes(long bytes, String text) {
        assertThat(TextFormat.bytes(bytes)).isEqualTo(text);
    }

    @Test
    void anAnswerPicksByNumberInTheListedRangeOrElseById() {
        List<MigrationSummary> migrations = List.of(summary("3", Status.ACTIVE), summary("load_b", Status.ACTIVE),
                summary("load_a", Status.ROLLED_BACK));

        assertThat(InteractiveCommand.choose("1", migrations, 2)).contains(migrations.get(0));
        assertThat(InteractiveCommand.choose("2", migrations, 2)).contains(migrations.get(1));
        assertThat(InteractiveCommand.choose("3", migrations, 2)).as("beyond the listed numbers: an id")
                .contains(migrations.get(0));
        assertThat(InteractiveCommand.choose("load_a", migrations, 2)).as("older than listed, by id")
                .contains(migrations.get(2));
        assertThat(InteractiveCommand.choose("0", migrations, 2)).isEmpty();
        assertThat(InteractiveCommand.choose("load", migrations, 2)).isEmpty();
        assertThat(InteractiveCommand.choose("LOAD_A", migrations, 2)).as("ids are case-sensitive").isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"y", "Y", "yes", "YES", "Yes"})
    void yAndYesConfirm(String answer) {
        assertThat(InteractiveCommand.isYes(answer)).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "n", "no", "ye", "yess", "yes please", "ok", "1"})
    void everythingElseDoesNot(String answer) {
        assertThat(InteractiveCommand.isYes(answer)).isFalse();
    }

    @Test
    void aNumberedTableStartsWithTheNumberAndAlignsTheColumns() {
        String table = ListCommand.table(List.of(summary("rollback:load_1", Status.ACTIVE),
                summary("load_1", Status.PARTIALLY_ROLLED_BACK)), true);

        List<String> lines = table.lines().toList();
        assertThat(lines).hasSize(3);
        assertThat(lines.get(0).split("\\s{2,}")).containsExactly("#", "migration", "status", "started", "last change",
                "row changes", "tables");
        assertThat(lines.get(1).split("\\s{2,}")).containsExactly("1", "rollback:load_1", "active",
                TextFormat.time(T0), TextFormat.time(T0.plusMinutes(5)), "42", "shop.customers, shop.orders");
        assertThat(lines.get(2).split("\\s{2,}")).startsWith("2", "load_1", "partially_rolled_back");
        assertThat(lines.get(1).indexOf("active")).isEqualTo(lines.get(2).indexOf("partially_rolled_back"))
                .isEqualTo(lines.get(0).indexOf("status"));
    }

    @Test
    void listJsonIsOneDocumentWithTheViewsColumnNames() throws IOException {
        MigrationSummary noChanges = new MigrationSummary("checkpoint_only", Optional.empty(), Status.ACTIVE, T0,
                Optional.empty(), List.of(), 0);
        JsonNode doc = new ObjectMapper().readTree(ListCommand.json(List.of(summary("load_1", Status.ROLLED_BACK),
                noChanges)));

        JsonNode first = doc.get("migrations").get(0);
        assertThat(first.get("status").asText()).isEqualTo("rolled_back");
        assertThat(first.get("started_at").asText()).isEqualTo("2026-11-02T09:15Z");
        assertThat(OffsetDateTime.parse(first.get("last_change_at").asText())).isEqualTo(T0.plusMinutes(5));
        JsonNode second = doc.get("migrations").get(1);
        assertThat(second.get("name").isNull()).isTrue();
        assertThat(second.get("last_change_at").isNull()).isTrue();
        assertThat(second.get("tables")).isEmpty();
    }

    @Test
    void showTextLinksRollbacksAndSaysWhenThereAreNoCheckpoints() {
        MigrationDetail detail = new MigrationDetail(summary("load_1", Status.ROLLED_BACK), "etl",
                Optional.of(T0.plusHours(1)), Optional.empty(), List.of("rollback:load_1"),
                List.of(new MigrationDetail.TableChanges("shop.customers", 1, 2, 3, 4, 2048, 16384)), List.of());

        String text = ShowCommand.text(detail);

        assertThat(text).contains("migration    load_1\n", "status       rolled_back\n",
                "started      " + TextFormat.time(T0) + " by etl\n",
                "rolled back  " + TextFormat.time(T0.plusHours(1)) + " by rollback:load_1\n",
                "row changes  42 in 1 table\n", "log size     2048 bytes\n", "checkpoints: none\n")
                .doesNotContain("rollback of");
        assertThat(text.lines().filter(l -> l.startsWith("shop.customers")).findFirst().orElseThrow().split("\\s{2,}"))
                .containsExactly("shop.customers", "1", "2", "3", "4", "2048 bytes", "16 kB");
    }

    @Test
    void cleanupTextListsWhatWentAndWhatStayedWithWhy() {
        CleanupResult result = new CleanupResult(T0, true,
                List.of(new CleanupResult.Deleted("old_1", T0.minusDays(3), 10),
                        new CleanupResult.Deleted("old_2", T0.minusDays(2), 1)),
                List.of(new CleanupResult.Kept("old_3", T0.minusDays(1), "an open transaction is still writing it")));

        List<String> lines = CleanupCommand.text(result, 30).lines().toList();

        assertThat(lines).containsExactly(
                "dry run: would delete the logs of 2 migrations last active more than 30 days ago (before "
                        + TextFormat.time(T0) + "): 11 log rows; nothing was deleted",
                "  old_1  last active " + TextFormat.time(T0.minusDays(3)) + "  10 log rows",
                "  old_2  last active " + TextFormat.time(T0.minusDays(2)) + "  1 log row",
                "kept 1 migration as old as that, with the reason:",
                "  old_3  last active " + TextFormat.time(T0.minusDays(1)) + ": an open transaction is still writing it");
    }

    @Test
    void rollbackTextAndJsonSayWhatTheRollbackCannotRestore() throws IOException {
        RollbackResult result = new RollbackResult("load_1", "rollback:load_1", RollbackResult.Outcome.ROLLED_BACK,
                List.of(new TableRollback("shop.customers", 0, 0, 1, 0, 0)), List.of(), 0, List.of(),
                RollbackResult.Method.PLANNED, true, List.of("load_1 deleted 1 row(s) of shop.customers, and ..."),
                Duration.ofMillis(1500));

        List<String> lines = RollbackCommand.text(result).lines().toList();
        JsonNode json = new ObjectMapper().readTree(RollbackCommand.json(result));

        assertThat(lines).containsSubsequence("verified: every restored row equals its before-image",
                "warning: load_1 deleted 1 row(s) of shop.customers, and ...", "1 row(s) restored in 1.500 s");
        assertThat(json.get("warnings")).hasSize(1);
        assertThat(json.get("warnings").get(0).asText()).isEqualTo("load_1 deleted 1 row(s) of shop.customers, and ...");
    }
}
