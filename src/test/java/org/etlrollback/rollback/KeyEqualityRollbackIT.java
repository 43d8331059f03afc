package org.etlrollback.rollback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.nio.file.Path;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import org.etlrollback.Conflict;
import org.etlrollback.ConflictException;
import org.etlrollback.RollbackOptions;
import org.etlrollback.RollbackResult;
import org.etlrollback.TableRollback;
import org.etlrollback.TestDatabase;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Keys that their index takes for one though their bytes differ: citext (whose equality operator lies outside
 * pg_catalog, where the rollback's pinned search_path does not look), numeric ({@code 1.0} and {@code 1.00}) and
 * text under a nondeterministic collation. A rollback finds the row by the key as the index compares it, and puts
 * its key back byte for byte.
 */
class KeyEqualityRollbackIT {
    private static final Scenario DB = new Scenario(TestDatabase.forClass(KeyEqualityRollbackIT.class));
    private static final String[] TABLES = {"ke.users", "ke.prices"};

    @BeforeEach
    void schema() throws SQLException {
        DB.forgetMigrations();
        DB.sql("""
                drop schema if exists ke cascade;
                create schema ke;
                create extension if not exists citext schema public;
                create table ke.users (email public.citext primary key, name text);
                create table ke.logins (id int primary key, email public.citext references ke.users);
                create table ke.prices (amount numeric primary key, label text);
                insert into ke.users values ('Ann@Example.com', 'Ann'), ('bob@example.com', 'Bob');
                insert into ke.logins values (1, 'ann@example.com');
                insert into ke.prices values (1.0, 'one'), (2, 'two');
                select etl_rollback.track('ke.users');
                select etl_rollback.track('ke.prices');
                """);
    }

    @Test
    void keysRewrittenToOtherBytesOfTheSameKeyAreWrittenBackByteForByte() throws SQLException {
        Map<String, String> before = DB.state(TABLES);
        DB.tagged("m1", """
                update ke.users set email = lower(email), name = name || '!';
                update ke.prices set amount = 1.00 where amount = 1;
                """);
        Map<String, String> afterM1 = DB.state(TABLES);
        DB.tagged("m2", """
                update ke.users set email = upper(email) where email = 'ann@example.com';
                update ke.prices set amount = 1.000, label = 'uno' where amount = 1;
                """);

        RollbackResult m2 = DB.reverser().rollback("m2");

        assertThat(m2.outcome()).isEqualTo(RollbackResult.Outcome.ROLLED_BACK);
        assertThat(m2.tables()).containsExactly(
                new TableRollback("ke.users", 0, 1, 0, 0, 0),
                new TableRollback("ke.prices", 0, 1, 0, 0, 0));
        assertThat(DB.state(TABLES)).isEqualTo(afterM1);

        RollbackResult m1 = DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true));

        assertThat(m1.conflicts()).isEmpty();
        assertThat(DB.state(TABLES)).isEqualTo(before);
    }

    @Test
    void aLaterWriteToTheSameKeyInOtherCaseIsAConflict() throws SQLException {
        DB.tagged("m1", "update ke.users set name = 'Bobby' where email = 'bob@example.com'");
        DB.sql("update ke.users set name = 'Robert' where email = 'BOB@EXAMPLE.COM'");

        Throwable refused = catchThrowable(() -> DB.reverser().rollback("m1"));

        assertThat(refused).isInstanceOf(ConflictException.class);
        assertThat(((ConflictException) refused).result().conflicts()).containsExactly(
                new Conflict("ke.users", "{\"email\": \"bob@example.com\"}", List.of(), true));
        assertThat(DB.rows("ke.users")).contains("(bob@example.com,Robert)");
    }

    @Test
    void aCascadeToRowsThatReferToTheKeyInOtherCaseIsRefused() throws SQLException {
        DB.sql("create table ke.sessions (id int primary key,"
                + " email public.citext references ke.users on delete cascade)");
        DB.tagged("m1", "insert into ke.users values ('carl@example.com', 'Carl')");
        DB.sql("insert into ke.sessions values (1, 'CARL@example.com')");

        Scenario.assertFailed(() -> DB.reverser().rollback("m1"))
                .hasMessageContaining("1 row(s) of ke.sessions it does not restore refer to");

        assertThat(DB.rows("ke.sessions")).isEqualTo("(1,CARL@example.com)");
        assertThat(DB.rows("ke.users")).contains("(carl@example.com,Carl)");
    }

    @Test
    void keyBytesWrittenBackThatWouldCascadeToRowsItDoesNotRestoreAreRefused() throws SQLException {
        DB.sql("create table ke.quotes (id int primary key,"
                + " amount numeric references ke.prices on update cascade)");
        DB.tagged("m1", "update ke.prices set amount = 1.00 where amount = 1");
        DB.sql("insert into ke.quotes values (1, 1.00)");

        Scenario.assertFailed(() -> DB.reverser().rollback("m1"))
                .hasMessageContaining("1 row(s) of ke.quotes it does not restore refer to");

        assertThat(DB.rows("ke.quotes")).isEqualTo("(1,1.00)");
    }

    @Test
    void theSqlScriptWritesKeysBackByteForByte(@TempDir Path dir) throws Exception {
        Map<String, String> before = DB.state(TABLES);
        DB.tagged("m1", """
                update ke.users set email = upper(email) where name = 'Ann';
                delete from ke.users where email = 'bob@example.com';
                insert into ke.users values ('Bob@Example.com', 'Bob again');
                update ke.prices set amount = 1.00, label = 'one!' where amount = 1;
                """);
        Path script = dir.resolve("rollback.sql");
        DB.reverser().rollback("m1", RollbackOptions.defaults().withDryRun(true).withSqlFile(script));

        DB.runScript(script, "");

        assertThat(DB.state(TABLES)).isEqualTo(before);
    }

    @Test
    void textKeysUnderANondeterministicCollationAreOneKeyInAnyCase() throws SQLException {
        assumeThat(DB.count("select count(*) from pg_catalog.pg_collation where collprovider = 'i'"))
                .as("the server has ICU collations").isPositive();
        DB.sql("""
                create collation ke.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
                create table ke.tags (name text collate ke.ci primary key, hits int);
                insert into ke.tags values ('Red', 1), ('blue', 2);
                select etl_rollback.track('ke.tags');
                """);
        Map<String, String> before = DB.state("ke.tags");
        // one row changed by two statements, under two spellings of its key
        DB.tagged("m1", """
                update ke.tags set hits = 10 where name = 'RED';
                update ke.tags set name = 'red', hits = 11 where name = 'rEd';
                insert into ke.tags values ('Green', 3);
                """);
        Map<String, String> afterM1 = DB.state("ke.tags");
        DB.tagged("m2", "update ke.tags set hits = 12 where name = 'GREEN'");

        RollbackResult m2 = DB.reverser().rollback("m2");
        RollbackResult m1 = DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true));

        assertThat(m2.tables()).containsExactly(new TableRollback("ke.tags", 0, 1, 0, 0, 0));
        assertThat(m1.tables()).containsExactly(new TableRollback("ke.tags", 1, 1, 0, 0, 0));
        assertThat(DB.state("ke.tags")).isEqualTo(before);

        DB.reverser().rollback("rollback:m1");

        assertThat(DB.state("ke.tags")).isEqualTo(afterM1);
    }
}
