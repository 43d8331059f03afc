package org.etlrollback.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.etlrollback.TestDatabase;
import org.etlrollback.cli.CliProcess.Outcome;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** interactive, driven through a pipe: pick, plan, confirm or cancel. */
class InteractiveIT {
    private static final String PICK = "Roll back which migration? Its number (1-2) or id; empty to cancel: ";
    private static final String CONFIRM_FIRST = "Roll back first_load as planned above? [y/N] ";
    private static final String CONFIRM_SECOND = "Roll back second_load as planned above? [y/N] ";

    private TestDatabase db;

    /** Two migrations: first_load, then second_load, which is the newest (number 1). */
    @BeforeEach
    void twoMigrations() {
        db = TestDatabase.forClass(InteractiveIT.class);
        db.dsl().execute("""
                CREATE TABLE public.customers (id int PRIMARY KEY, name text);
                INSERT INTO public.customers VALUES (1, 'Ada');
                SELECT etl_rollback.track('public.customers');
                SET etl_rollback.migration_id = 'first_load';
                INSERT INTO public.customers VALUES (2, 'Grace'), (3, 'Alan');
                SET etl_rollback.migration_id = 'second_load';
                UPDATE public.customers SET name = 'Ada L.' WHERE id = 1""");
    }

    private Outcome interactive(String input, String... options) {
        String[] args = new String[options.length + 1];
        args[0] = "interactive";
        System.arraycopy(options, 0, args, 1, options.length);
        return CliProcess.withInput(Map.of("ETL_ROLLBACK_URL", db.url(), "ETL_ROLLBACK_USER", db.user(),
                "ETL_ROLLBACK_PASSWORD", db.password()), input, args);
    }

    private List<String> statuses() {
        return db.dsl().fetch("SELECT migration_id || ' ' || status FROM etl_rollback.migrations ORDER BY 1")
                .getValues(0, String.class);
    }

    private static String[] lines(String text) {
        return text.split("\\R");
    }

    @Test
    void pickingTheNewestByNumberAndConfirmingRollsItBack() {
        Outcome outcome = interactive("1\ny\n");

        assertThat(outcome.exitCode()).as(outcome.toString()).isZero();
        String[] out = lines(outcome.out());
        assertThat(out[0].split("\\s{2,}")).startsWith("#", "migration", "status");
        assertThat(out[1].split("\\s{2,}")).startsWith("1", "second_load", "active");
        assertThat(out[2].split("\\s{2,}")).startsWith("2", "first_load", "active");
        assertThat(outcome.out()).contains("dry run of the rollback of second_load: nothing was changed\n",
                "rolled back second_load as rollback:second_load\n");
        assertThat(outcome.out().indexOf("dry run")).isLessThan(outcome.out().indexOf("rolled back second_load"));
        assertThat(outcome.err()).contains(PICK, CONFIRM_SECOND);
        assertThat(statuses()).containsExactly("first_load active", "rollback:second_load active",
                "second_load rolled_back");
        assertThat(db.dsl().fetchValue("SELECT name FROM public.customers WHERE id = 1")).isEqualTo("Ada");
    }

    @Test
    void pickingByIdAndAnsweringYesRollsThatMigrationBack() {
        Outcome outcome = interactive("first_load\nYES\n", "--verify");

        assertThat(outcome.exitCode()).as(outcome.toString()).isZero();
        assertThat(outcome.out()).contains("dry run of the rollback of first_load", "rolled back first_load as "
                + "rollback:first_load\n", "verified: every restored row equals its before-image\n");
        assertThat(outcome.err()).contains(CONFIRM_FIRST);
        assertThat(statuses()).containsExactly("first_load rolled_back", "rollback:first_load active",
                "second_load active");
    }

    @Test
    void anyAnswerButYesCancels() {
        for (String answer : new String[] {"n", "no", "", "yes please", "Y E S"}) {
            Outcome outcome = interactive("1\n" + answer + "\n");
            assertThat(outcome.exitCode()).as(answer + ": " + outcome).isZero();
            assertThat(outcome.out()).as(answer).contains("dry run of the rollback of second_load")
                    .endsWith("cancelled: nothing was changed\n");
        }
        assertThat(statuses()).containsExactly("first_load active", "second_load active");
    }

    @Test
    void theEndOfTheInputCancelsAtEitherQuestion() {
        Outcome atPick = interactive("");
        assertThat(atPick.exitCode()).as(atPick.toString()).isZero();
        assertThat(atPick.out()).endsWith("cancelled: nothing was changed\n").doesNotContain("dry run");
        assertThat(atPick.err()).contains(PICK).doesNotContain("[y/N]");

        Outcome atConfirmation = interactive("2\n");
        assertThat(atConfirmation.exitCode()).as(atConfirmation.toString()).isZero();
        assertThat(atConfirmation.out()).contains("dry run of the rollback of first_load")
                .endsWith("cancelled: nothing was changed\n");
        assertThat(atConfirmation.err()).contains(CONFIRM_FIRST);
        assertThat(statuses()).containsExactly("first_load active", "second_load active");
    }

    @Test
    void aPickThatNamesNoMigrationIsAskedAgain() {
        Outcome outcome = interactive("nope\n3\n2\ny\n");

        assertThat(outcome.exitCode()).as(outcome.toString()).isZero();
        assertThat(outcome.err()).contains("no migration has the number or id 'nope'; give a number from 1 to 2",
                "no migration has the number or id '3'");
        assertThat(outcome.err().split(java.util.regex.Pattern.quote(PICK), -1)).hasSize(4);
        assertThat(statuses()).contains("first_load rolled_back");
    }

    @Test
    void threePicksThatNameNoMigrationAreAUsageError() {
        Outcome outcome = interactive("0\nx\nsecond\ny\n");

        assertThat(outcome.exitCode()).as(outcome.toString()).isEqualTo(2);
        assertThat(outcome.err()).contains("no migration picked after 3 answers; nothing was changed");
        assertThat(outcome.out()).doesNotContain("dry run");
        assertThat(statuses()).containsExactly("first_load active", "second_load active");
    }

    @Test
    void aConflictRefusesWithoutAskingUnlessAPolicyIsGiven() {
        db.dsl().execute("UPDATE public.customers SET name = 'Ada Lovelace' WHERE id = 1");

        Outcome refused = interactive("1\ny\n");
        assertThat(refused.exitCode()).as(refused.toString()).isEqualTo(3);
        assertThat(refused.out()).contains("dry run of the rollback of second_load", "1 conflict(s):",
                "public.customers {\"id\": 1} changed later by untagged");
        assertThat(refused.err()).contains("the rollback of second_load would be refused: 1 row was changed after it",
                "--on-conflict").doesNotContain("[y/N]");
        assertThat(statuses()).containsExactly("first_load active", "second_load active");

        Outcome forced = interactive("1\ny\n", "--on-conflict", "force");
        assertThat(forced.exitCode()).as(forced.toString()).isZero();
        assertThat(forced.out()).contains("rolled back second_load as rollback:second_load");
        assertThat(db.dsl().fetchValue("SELECT name FROM public.customers WHERE id = 1")).isEqualTo("Ada");
    }

    @Test
    void anAlreadyRolledBackMigrationNeedsNoConfirmation() {
        assertThat(interactive("second_load\ny\n").exitCode()).isZero();

        Outcome again = interactive("second_load\n");
        assertThat(again.exitCode()).as(again.toString()).isZero();
        assertThat(again.out()).contains("second_load is already rolled back: nothing to do");
        assertThat(again.err()).doesNotContain("[y/N]");
    }

    @Test
    void anEmptyLogHasNothingToPick() {
        TestDatabase empty = TestDatabase.forClass(InteractiveIT.class);
        Outcome outcome = CliProcess.withInput(Map.of("ETL_ROLLBACK_URL", empty.url(), "ETL_ROLLBACK_USER",
                empty.user(), "ETL_ROLLBACK_PASSWORD", empty.password()), "1\ny\n", "interactive");

        assertThat(outcome.exitCode()).as(outcome.toString()).isZero();
        assertThat(outcome.out()).isEqualTo("no migrations in the log: nothing to roll back\n");
        assertThat(outcome.err()).isEmpty();
    }
}
