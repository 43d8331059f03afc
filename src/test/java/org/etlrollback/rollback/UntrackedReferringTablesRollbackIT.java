package org.etlrollback.rollback;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.Map;
import org.etlrollback.RollbackOptions;
import org.etlrollback.RollbackResult;
import org.etlrollback.TestDatabase;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A migration that deletes, truncates or re-keys rows of a tracked table fires the foreign-key actions of the tables
 * that refer to it. Where such a table is not tracked, what the actions did to it was not logged: the rollback
 * restores the tracked rows and says, in its result, what it cannot restore.
 */
class UntrackedReferringTablesRollbackIT {
    private static final Scenario DB = new Scenario(TestDatabase.forClass(UntrackedReferringTablesRollbackIT.class));

    @BeforeEach
    void schema() throws SQLException {
        DB.forgetMigrations();
        DB.sql("""
                drop schema if exists utr cascade;
                create schema utr;
                create table utr.accounts (id int primary key, code text not null unique, name text);
                create table utr.cards (id int primary key,
                    account_id int references utr.accounts on delete cascade, label text);
                create table utr.statements (id int primary key,
                    account_code text references utr.accounts (code) on update set null on delete set null);
                insert into utr.accounts select g, 'a' || g, 'account ' || g from generate_series(1, 5) g;
                insert into utr.cards select g, 1 + g % 5, 'card ' || g from generate_series(1, 10) g;
                insert into utr.statements select g, 'a' || (1 + g % 5) from generate_series(1, 10) g;
                select etl_rollback.track('utr.accounts');
                """);
    }

    @Test
    void aDeleteThatCascadedIntoAnUntrackedTableIsRestoredAndWhatTheCascadeDidIsReported() throws SQLException {
        Map<String, String> before = DB.state("utr.accounts");
        DB.tagged("m1", "delete from utr.accounts where id = 2");
        Map<String, String> cardsAfter = DB.state("utr.cards");
        Map<String, String> statementsAfter = DB.state("utr.statements");

        RollbackResult dryRun = DB.reverser().rollback("m1", RollbackOptions.defaults().withDryRun(true));
        RollbackResult result = DB.reverser().rollback("m1");

        assertThat(DB.state("utr.accounts")).isEqualTo(before);
        assertThat(DB.status("m1")).isEqualTo("rolled_back");
        // the cards of account 2 went with it, and its statements lost their account, unlogged: they stay so
        assertThat(DB.state("utr.cards")).isEqualTo(cardsAfter);
        assertThat(DB.state("utr.statements")).isEqualTo(statementsAfter);
        assertThat(DB.count("select count(*) from utr.cards where account_id = 2")).isZero();
        assertThat(result.warnings()).containsExactly(
                "m1 deleted 1 row(s) of utr.accounts, and foreign key cards_account_id_fkey (ON DELETE CASCADE) of"
                        + " utr.cards, which is not tracked, changed any rows of it that referred to them: those"
                        + " changes were not logged, and no rollback of m1 restores them. Track utr.cards too to"
                        + " have such changes logged.",
                "m1 deleted 1 row(s) of utr.accounts, and foreign key statements_account_code_fkey (ON DELETE SET"
                        + " NULL) of utr.statements, which is not tracked, changed any rows of it that referred to"
                        + " them: those changes were not logged, and no rollback of m1 restores them. Track"
                        + " utr.statements too to have such changes logged.");
        assertThat(dryRun.warnings()).isEqualTo(result.warnings());
    }

    @Test
    void referringTablesThatAreTrackedTooAreRestoredWithoutWarning() throws SQLException {
        DB.sql("select etl_rollback.track('utr.cards'); select etl_rollback.track('utr.statements');");
        String[] tables = {"utr.accounts", "utr.cards", "utr.statements"};
        Map<String, String> before = DB.state(tables);
        DB.tagged("m1", """
                delete from utr.accounts where id = 2;
                update utr.accounts set code = 'A3' where id = 3;
                """);

        RollbackResult result = DB.reverser().rollback("m1");

        assertThat(DB.state(tables)).isEqualTo(before);
        assertThat(result.warnings()).isEmpty();
    }

    @Test
    void aTruncationThatEmptiedAnUntrackedTableIsReported() throws SQLException {
        Map<String, String> before = DB.state("utr.accounts");
        DB.tagged("m1", "truncate utr.accounts cascade");

        RollbackResult result = DB.reverser().rollback("m1");

        assertThat(DB.state("utr.accounts")).isEqualTo(before);
        assertThat(DB.count("select count(*) from utr.cards")).isZero();
        assertThat(result.warnings()).hasSize(2).allSatisfy(w -> assertThat(w)
                .startsWith("m1 truncated utr.accounts, and utr.")
                .contains("is not tracked, was truncated with it: those changes were not logged"));
    }

    @Test
    void aChangedReferencedValueIsReportedForTheActionItFiredAndOnlyForThat() throws SQLException {
        DB.tagged("m1", "update utr.accounts set name = 'renamed' where id = 3");
        DB.tagged("m2", "update utr.accounts set code = 'A4' where id = 4");
        Map<String, String> statementsAfter = DB.state("utr.statements");

        RollbackResult names = DB.reverser().rollback("m1");
        RollbackResult codes = DB.reverser().rollback("m2");

        assertThat(names.warnings()).isEmpty();
        assertThat(codes.warnings()).containsExactly(
                "m2 changed the values of [code] in rows of utr.accounts, and foreign key statements_account_code_fkey"
                        + " (ON UPDATE SET NULL) of utr.statements, which is not tracked, changed any rows of it that"
                        + " referred to them: those changes were not logged, and no rollback of m2 restores them."
                        + " Track utr.statements too to have such changes logged.");
        assertThat(DB.count("select count(*) from utr.accounts where code = 'a4'")).isEqualTo(1);
        // the statements of account 4 lost their account when its code changed, and stay so
        assertThat(DB.state("utr.statements")).isEqualTo(statementsAfter);
        assertThat(DB.count("select count(*) from utr.statements where account_code is null")).isEqualTo(2);
    }

    @Test
    void insertedRowsFireNoActionAndAreRolledBackWithoutWarning() throws SQLException {
        Map<String, String> before = DB.state("utr.accounts");
        DB.tagged("m1", "insert into utr.accounts values (6, 'a6', 'account 6'), (7, 'a7', 'account 7')");

        RollbackResult result = DB.reverser().rollback("m1");

        assertThat(DB.state("utr.accounts")).isEqualTo(before);
        assertThat(result.method()).isEqualTo(RollbackResult.Method.PLANNED);
        assertThat(result.warnings()).isEmpty();
    }

    @Test
    void theScriptNamesWhatItCannotRestoreInCommentsThatNoNameCanEnd(@TempDir Path dir)
            throws IOException, SQLException {
        DB.sql("""
                create table utr."x
                drop table utr.accounts cascade; --" (id int primary key,
                    account_id int references utr.accounts on delete cascade);
                insert into utr."x
                drop table utr.accounts cascade; --" values (1, 2);
                """);
        Map<String, String> before = DB.state("utr.accounts");
        DB.tagged("m1", "delete from utr.accounts where id = 2");
        Path script = dir.resolve("undo.sql");

        RollbackResult planned = DB.reverser().rollback("m1",
                RollbackOptions.defaults().withDryRun(true).withSqlFile(script));
        DB.runScript(script, "");

        assertThat(planned.warnings()).hasSize(3);
        assertThat(Files.readAllLines(script)).filteredOn(l -> l.startsWith("-- Warning: ")).hasSize(3)
                .anySatisfy(l -> assertThat(l).contains("drop table utr.accounts cascade; --"));
        assertThat(DB.state("utr.accounts")).isEqualTo(before);
    }
}
