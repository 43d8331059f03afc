package org.etlrollback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.etlrollback.CrossDatabaseResult.DatabaseRollback;
import org.etlrollback.CrossDatabaseResult.Mode;
import org.etlrollback.CrossDatabaseResult.State;
import org.etlrollback.CrossDatabaseRollback.Strategy;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CrossDatabaseRollbackIT {
    private static final TestDatabase CLINIC = TestDatabase.forClass(CrossDatabaseRollbackIT.class);
    private static final TestDatabase BILLING = TestDatabase.forClass(CrossDatabaseRollbackIT.class);
    private static final TestDatabase LAB = TestDatabase.forClass(CrossDatabaseRollbackIT.class);

    @BeforeEach
    void schema() throws SQLException {
        for (TestDatabase db : new TestDatabase[] {CLINIC, BILLING, LAB}) {
            sql(db, """
                    delete from etl_rollback.checkpoint;
                    delete from etl_rollback.statement;
                    delete from etl_rollback.migration;
                    drop schema if exists app cascade;
                    create schema app;
                    create table app.records(id int primary key, value text not null, amount numeric(10,2));
                    insert into app.records select g, 'v' || g, g * 1.25 from generate_series(1, 10) g;
                    create table app.notes(id int primary key, record_id int not null
                        references app.records(id) deferrable initially deferred, body text);
                    select etl_rollback.track('app.records');
                    """);
        }
    }

    @Test
    void twoPhaseRollbackRestoresEveryDatabase() throws SQLException {
        assumePreparedTransactions();
        Map<String, String> clinicBefore = state(CLINIC);
        Map<String, String> billingBefore = state(BILLING);
        migrate(CLINIC, "load_1");
        migrate(BILLING, "load_1");

        CrossDatabaseResult result = rollback(CLINIC, BILLING).rollback("load_1",
                RollbackOptions.defaults().withVerify(true));

        assertThat(result.mode()).isEqualTo(Mode.TWO_PHASE);
        assertThat(result.committed()).containsExactly("clinic", "billing");
        assertThat(result.complete()).isTrue();
        assertThat(result.databases()).allSatisfy(d -> assertThat(d.result().orElseThrow().outcome())
                .isEqualTo(RollbackResult.Outcome.ROLLED_BACK));
        assertThat(state(CLINIC)).isEqualTo(clinicBefore);
        assertThat(state(BILLING)).isEqualTo(billingBefore);
        assertThat(status(CLINIC, "load_1")).isEqualTo("rolled_back");
        assertThat(status(BILLING, "load_1")).isEqualTo("rolled_back");
        assertNoPreparedTransactions();
        assertNoPlanTablesLeft(CLINIC);
    }

    @Test
    void conflictInTheSecondDatabaseLeavesBothUnchanged() throws SQLException {
        assumePreparedTransactions();
        migrate(CLINIC, "load_2");
        migrate(BILLING, "load_2");
        sql(BILLING, "update app.records set value = 'changed later' where id = 1");
        Map<String, String> clinicAfterMigration = state(CLINIC);
        Map<String, String> billingAfterMigration = state(BILLING);

        assertThatThrownBy(() -> rollback(CLINIC, BILLING).rollback("load_2"))
                .isInstanceOfSatisfying(CrossDatabaseRollbackException.class, e -> {
                    assertThat(e.errorCode()).isEqualTo(ErrorCode.CONFLICT);
                    assertThat(e.getCause()).isInstanceOf(ConflictException.class);
                    assertThat(e.getMessage()).contains("failed in billing", "Nothing was changed in any database");
                    assertThat(e.result().databases()).extracting(DatabaseRollback::state)
                            .containsExactly(State.NOT_COMMITTED, State.FAILED);
                    assertThat(e.result().committed()).isEmpty();
                });

        assertThat(state(CLINIC)).isEqualTo(clinicAfterMigration);
        assertThat(state(BILLING)).isEqualTo(billingAfterMigration);
        assertThat(status(CLINIC, "load_2")).isEqualTo("active");
        assertThat(status(BILLING, "load_2")).isEqualTo("active");
        assertNoPreparedTransactions();
    }

    @Test
    void failureWhileTheSecondDatabasePreparesAbandonsTheFirstPreparedOne() throws SQLException {
        assumePreparedTransactions();
        migrate(CLINIC, "load_3");
        migrate(BILLING, "load_3");
        // an untracked table points at a row the migration inserted: deleting that row breaks a deferred foreign
        // key, which PostgreSQL checks only when the transaction is prepared
        sql(BILLING, "insert into app.notes values (1, 11, 'about the new row')");
        Map<String, String> clinicAfterMigration = state(CLINIC);
        Map<String, String> billingAfterMigration = state(BILLING);

        assertThatThrownBy(() -> rollback(CLINIC, BILLING).rollback("load_3"))
                .isInstanceOfSatisfying(CrossDatabaseRollbackException.class, e -> {
                    assertThat(e.errorCode()).isEqualTo(ErrorCode.FAILED);
                    assertThat(e.getMessage()).contains("failed in billing", "notes",
                            "Nothing was changed in any database");
                    assertThat(e.result().databases()).extracting(DatabaseRollback::state)
                            .containsExactly(State.NOT_COMMITTED, State.FAILED);
                });

        assertThat(state(CLINIC)).isEqualTo(clinicAfterMigration);
        assertThat(state(BILLING)).isEqualTo(billingAfterMigration);
        assertThat(status(CLINIC, "load_3")).isEqualTo("active");
        assertNoPreparedTransactions();
    }

    @Test
    void oneByOneStopsAtTheFirstFailureAndSaysWhichDatabasesCommitted() throws SQLException {
        Map<String, String> clinicBefore = state(CLINIC);
        migrate(CLINIC, "load_4");
        migrate(BILLING, "load_4");
        migrate(LAB, "load_4");
        sql(BILLING, "update app.records set value = 'changed later' where id = 11");
        Map<String, String> billingAfterMigration = state(BILLING);
        Map<String, String> labAfterMigration = state(LAB);

        assertThatThrownBy(() -> CrossDatabaseRollback.configure()
                .database("clinic", CLINIC.dataSource())
                .database("billing", BILLING.dataSource())
                .database("lab", LAB.dataSource())
                .strategy(Strategy.ONE_BY_ONE)
                .load()
                .rollback("load_4"))
                .isInstanceOfSatisfying(CrossDatabaseRollbackException.class, e -> {
                    assertThat(e.result().mode()).isEqualTo(Mode.ONE_BY_ONE);
                    assertThat(e.result().databases()).extracting(DatabaseRollback::state)
                            .containsExactly(State.COMMITTED, State.FAILED, State.NOT_ATTEMPTED);
                    assertThat(e.result().committed()).containsExactly("clinic");
                    assertThat(e.getMessage()).contains("failed in billing", "Committed in: clinic",
                            "Not rolled back: billing, lab");
                });

        assertThat(state(CLINIC)).isEqualTo(clinicBefore);
        assertThat(state(BILLING)).isEqualTo(billingAfterMigration);
        assertThat(state(LAB)).isEqualTo(labAfterMigration);
    }

    @Test
    void dryRunChangesNothingAnywhere() throws SQLException {
        assumePreparedTransactions();
        migrate(CLINIC, "load_5");
        migrate(BILLING, "load_5");
        Map<String, String> clinicAfterMigration = state(CLINIC);

        CrossDatabaseResult result = rollback(CLINIC, BILLING).rollback("load_5",
                RollbackOptions.defaults().withDryRun(true));

        assertThat(result.databases()).extracting(DatabaseRollback::state)
                .containsExactly(State.NOT_COMMITTED, State.NOT_COMMITTED);
        assertThat(result.databases()).allSatisfy(d -> assertThat(d.result().orElseThrow().outcome())
                .isEqualTo(RollbackResult.Outcome.DRY_RUN));
        assertThat(state(CLINIC)).isEqualTo(clinicAfterMigration);
        assertThat(status(BILLING, "load_5")).isEqualTo("active");
        assertNoPreparedTransactions();
    }

    @Test
    void serverWithoutPreparedTransactionsIsRefusedUnlessOneByOneIsAllowed(@TempDir Path dataDirectory)
            throws IOException, SQLException {
        migrate(CLINIC, "load_6");
        Map<String, String> clinicAfterMigration = state(CLINIC);
        // a bare server of its own, with PostgreSQL's default max_prepared_transactions = 0
        try (EmbeddedPostgres plain = EmbeddedPostgres.builder().setDataDirectory(dataDirectory)
                .setOutputRedirector(ProcessBuilder.Redirect.DISCARD)
                .setErrorRedirector(ProcessBuilder.Redirect.DISCARD).start()) {
            CrossDatabaseRollback.Configuration configuration = CrossDatabaseRollback.configure()
                    .database("clinic", CLINIC.dataSource())
                    .database("archive", plain.getPostgresDatabase());

            assertThatThrownBy(() -> configuration.load().rollback("load_6"))
                    .isInstanceOfSatisfying(EtlRollbackException.class, e -> {
                        assertThat(e.errorCode()).isEqualTo(ErrorCode.FAILED);
                        assertThat(e.getMessage()).contains("the server of archive does not allow prepared"
                                + " transactions", "max_prepared_transactions", "TWO_PHASE_OR_ONE_BY_ONE",
                                "Nothing was changed");
                    });
            assertThat(state(CLINIC)).isEqualTo(clinicAfterMigration);

            // one by one, the first database commits; the second has no etl-rollback at all, and fails
            assertThatThrownBy(() -> configuration.strategy(Strategy.TWO_PHASE_OR_ONE_BY_ONE).load()
                    .rollback("load_6"))
                    .isInstanceOfSatisfying(CrossDatabaseRollbackException.class, e ->
                            assertThat(e.result().databases()).extracting(DatabaseRollback::state)
                                    .containsExactly(State.COMMITTED, State.FAILED));
            assertThat(status(CLINIC, "load_6")).isEqualTo("rolled_back");
        }
    }

    @Test
    void twoPhaseNeedsCreateOnTheEngineSchemaOneByOneDoesNot() throws SQLException {
        assumePreparedTransactions();
        Map<String, String> clinicBefore = state(CLINIC);
        Map<String, String> billingBefore = state(BILLING);
        migrate(CLINIC, "load_7");
        migrate(BILLING, "load_7");
        TestDatabase.Login clinicAdmin = CLINIC.createLogin("clinic_admin", "etl_rollback_admin");
        TestDatabase.Login billingAdmin = BILLING.createLogin("billing_admin", "etl_rollback_admin");
        for (TestDatabase.Login login : List.of(clinicAdmin, billingAdmin)) {
            sql(login.database(), "grant usage on schema app to " + login.user()
                    + "; grant select, insert, update, delete on all tables in schema app to " + login.user());
        }
        CrossDatabaseRollback.Configuration configuration = CrossDatabaseRollback.configure()
                .database("clinic", clinicAdmin.dataSource())
                .database("billing", billingAdmin.dataSource());

        assertThatThrownBy(() -> configuration.load().rollback("load_7"))
                .isInstanceOfSatisfying(CrossDatabaseRollbackException.class, e -> {
                    assertThat(e.getMessage()).contains("failed in clinic", "GRANT CREATE ON SCHEMA etl_rollback TO "
                            + clinicAdmin.user(), "Nothing was changed in any database");
                    assertThat(e.result().committed()).isEmpty();
                });
        assertThat(status(CLINIC, "load_7")).isEqualTo("active");

        CrossDatabaseResult result = configuration.strategy(Strategy.ONE_BY_ONE).load().rollback("load_7");

        assertThat(result.mode()).isEqualTo(Mode.ONE_BY_ONE);
        assertThat(result.committed()).containsExactly("clinic", "billing");
        assertThat(state(CLINIC)).isEqualTo(clinicBefore);
        assertThat(state(BILLING)).isEqualTo(billingBefore);
    }

    @Test
    void configurationNamesWhatIsMissing() {
        assertThatThrownBy(() -> CrossDatabaseRollback.configure().load())
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.USAGE))
                .hasMessageContaining("database(name, dataSource)");
        assertThatThrownBy(() -> CrossDatabaseRollback.configure().database("a", CLINIC.dataSource())
                .database("a", BILLING.dataSource()))
                .hasMessageContaining("database a is named twice");
    }

    /** The servers the tests start allow prepared transactions; a server given by ETL_ROLLBACK_TEST_URL may not. */
    static void assumePreparedTransactions() {
        assumeTrue((Integer) CLINIC.dsl().fetchValue("select current_setting('max_prepared_transactions')::int") > 0,
                "the test server does not allow prepared transactions (max_prepared_transactions = 0)");
    }

    private static CrossDatabaseRollback rollback(TestDatabase first, TestDatabase second) {
        return CrossDatabaseRollback.configure()
                .database("clinic", first.dataSource())
                .database("billing", second.dataSource())
                .load();
    }

    /** The same migration in each database: a new row, changed rows, a deleted row. */
    private static void migrate(TestDatabase db, String migrationId) throws SQLException {
        try (Connection c = db.connect(); Statement s = c.createStatement()) {
            s.execute("set etl_rollback.migration_id = '" + migrationId + "'");
            s.execute("""
                    insert into app.records values (11, 'new', 0.5);
                    update app.records set amount = amount * 2 where id <= 3;
                    delete from app.records where id = 10;
                    """);
        }
    }

    private static Map<String, String> state(TestDatabase db) {
        return TableState.of(db.dsl(), "app.records", "app.notes");
    }

    private static String status(TestDatabase db, String migrationId) {
        return db.dsl().fetchValue("select status from etl_rollback.migrations where migration_id = {0}",
                migrationId).toString();
    }

    private static void assertNoPreparedTransactions() {
        assertThat(CLINIC.dsl().fetchValue("select count(*) from pg_prepared_xacts where database in ({0}, {1})",
                CLINIC.name(), BILLING.name())).isEqualTo(0L);
    }

    private static void assertNoPlanTablesLeft(TestDatabase db) {
        assertThat(db.dsl().fetchValue("select count(*) from pg_tables where schemaname = 'etl_rollback'"
                + " and tablename like 'etl\\_rollback\\_plan\\_%'")).isEqualTo(0L);
    }

    private static void sql(TestDatabase db, String statements) throws SQLException {
        try (Connection c = db.connect(); Statement s = c.createStatement()) {
            s.execute(statements);
        }
    }
}
