package org.etlrollback.transform;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.etlrollback.transform.ScriptedTransformer.execute;
import static org.etlrollback.transform.ScriptedTransformer.sql;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import javax.sql.DataSource;

import org.etlrollback.ConflictException;
import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollbackException;
import org.etlrollback.RollbackResult;
import org.etlrollback.TableState;
import org.etlrollback.TestDatabase;
import org.etlrollback.transform.MigrationFailure.AutoRollback;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

class TransformerIT {
    private static final TestDatabase DB = TestDatabase.forClass(TransformerIT.class);
    private static final List<String> TABLES = List.of("clinic.patients", "clinic.medical_records");
    private static final String MIGRATE = """
            insert into clinic.patients values (100, 'Ada', 'ada@example.org');
            update clinic.patients set email = upper(email) where id <= 3;
            delete from clinic.medical_records where patient_id = 4;
            insert into clinic.medical_records values (100, 100, 'first visit');
            """;

    private final RollbackConfig config = RollbackConfig.defaults();

    @BeforeEach
    void schema() throws SQLException {
        untagged("""
                delete from etl_rollback.checkpoint;
                delete from etl_rollback.statement;
                delete from etl_rollback.migration;
                drop schema if exists clinic cascade;
                create schema clinic;
                create table clinic.wards(id int primary key, name text);
                insert into clinic.wards values (1, 'north');
                create table clinic.patients(id int primary key, name text not null, email text,
                    ward_id int references clinic.wards(id));
                create table clinic.medical_records(id int primary key,
                    patient_id int not null references clinic.patients(id), note text);
                create table clinic.invoices(id int primary key,
                    patient_id int references clinic.patients(id) on delete cascade);
                insert into clinic.patients select g, 'p' || g, 'p' || g || '@example.org', 1
                    from generate_series(1, 10) g;
                insert into clinic.medical_records select g, g, 'note ' || g from generate_series(1, 10) g;
                select etl_rollback.track('clinic.patients');
                select etl_rollback.track('clinic.medical_records');
                """);
    }

    @Test
    void safeRunRollsBackOnExceptionAndRethrowsIt() {
        Map<String, String> before = state();
        IllegalStateException boom = new IllegalStateException("legacy row 42 has no name");
        ScriptedTransformer transformer = transformer("patients_1", sql(MIGRATE, boom));

        assertThatThrownBy(transformer::safeRun)
                .isInstanceOfSatisfying(MigrationFailedException.class, e -> {
                    assertThat(e.getCause()).isSameAs(boom);
                    assertThat(e.errorCode()).isEqualTo(ErrorCode.FAILED);
                    assertThat(e.failure().autoRollback()).isEqualTo(AutoRollback.ROLLED_BACK);
                    assertThat(e.failure().rollbackAttempted()).isTrue();
                    RollbackResult rollback = e.failure().rollback().orElseThrow();
                    assertThat(rollback.outcome()).isEqualTo(RollbackResult.Outcome.ROLLED_BACK);
                    assertThat(rollback.verified()).as("verify is on by default").isTrue();
                    assertThat(rollback.rowsRestored()).isEqualTo(1 + 3 + 1 + 1);
                    assertThat(e.getMessage()).contains("ScriptedTransformer (migration patients_1) failed",
                            "legacy row 42 has no name", "Its changes were rolled back: 6 row(s) restored");
                });

        assertThat(state()).isEqualTo(before);
        assertThat(status("patients_1")).isEqualTo("rolled_back");
        assertThat(DB.dsl().fetchValue("select name from etl_rollback.migrations where migration_id = 'patients_1'"))
                .isEqualTo("ScriptedTransformer");
    }

    @Test
    void failureInsideAnOpenTransactionIsUndoneWithItAndByTheLog() {
        Map<String, String> before = state();
        ScriptedTransformer transformer = transformer("patients_tx", (t, c) -> {
            execute(c, "insert into clinic.patients values (200, 'committed', null, 1)");
            c.setAutoCommit(false);
            execute(c, "insert into clinic.patients values (201, 'never committed', null, 1)");
            throw new IllegalStateException("halfway");
        });

        assertThatThrownBy(transformer::safeRun).isInstanceOfSatisfying(MigrationFailedException.class,
                e -> assertThat(e.failure().rollback().orElseThrow().rowsRestored()).isEqualTo(1));
        assertThat(state()).isEqualTo(before);
    }

    @Test
    void withoutAutoRollbackTheChangesStayAndCanBeRolledBackLater() {
        Map<String, String> before = state();
        ScriptedTransformer transformer = transformer("patients_2", sql(MIGRATE, new IllegalStateException("x")));

        assertThatThrownBy(() -> transformer.safeRun(false))
                .isInstanceOfSatisfying(MigrationFailedException.class, e -> {
                    assertThat(e.failure().autoRollback()).isEqualTo(AutoRollback.DISABLED);
                    assertThat(e.failure().rollbackAttempted()).isFalse();
                    assertThat(e.getMessage()).contains("Automatic rollback is off", "rollback patients_2");
                });
        assertThat(state()).isNotEqualTo(before);
        assertThat(status("patients_2")).isEqualTo("active");

        assertThat(transformer.rollbackMigration().outcome()).isEqualTo(RollbackResult.Outcome.ROLLED_BACK);
        assertThat(state()).isEqualTo(before);
    }

    @Test
    void autoRollbackOffByConfigurationLeavesTheChanges() {
        Map<String, String> before = state();
        ScriptedTransformer transformer = new ScriptedTransformer(DB.dataSource(), config.withAutoRollback(false),
                "patients_3", TABLES, sql(MIGRATE, new IllegalStateException("x")));

        assertThatThrownBy(transformer::safeRun).isInstanceOfSatisfying(MigrationFailedException.class,
                e -> assertThat(e.failure().autoRollback()).isEqualTo(AutoRollback.DISABLED));
        assertThat(state()).isNotEqualTo(before);
    }

    @Test
    void successfulRunKeepsItsChangesUnderItsMigrationId() {
        ScriptedTransformer transformer = transformer("patients_4", sql(MIGRATE, null));

        MigrationRun run = transformer.safeRun();

        assertThat(run.migrationId()).isEqualTo("patients_4");
        assertThat(run.transformer()).isEqualTo("ScriptedTransformer");
        assertThat(DB.dsl().fetchValue("select row_changes from etl_rollback.migrations"
                + " where migration_id = 'patients_4'")).isEqualTo(6L);
        assertThat(DB.dsl().fetchValue("select count(*) from clinic.patients where id = 100")).isEqualTo(1L);
    }

    @Test
    void conditionalRollbackAfterABusinessRuleCheck() {
        Map<String, String> before = state();
        ScriptedTransformer transformer = transformer("patients_5",
                sql("update clinic.patients set name = '' where id between 1 and 5", null));
        transformer.safeRun();

        long nameless = (Long) DB.dsl().fetchValue("select count(*) from clinic.patients where name = ''");
        assertThat(nameless).isEqualTo(5);
        RollbackResult result = transformer.rollbackMigration();

        assertThat(result.rowsRestored()).isEqualTo(5);
        assertThat(state()).isEqualTo(before);
    }

    @Test
    void sessionIsUntaggedWhenTheConnectionGoesBack() throws SQLException {
        try (Connection physical = DB.connect()) {
            ScriptedTransformer transformer = new ScriptedTransformer(poolOfOne(physical), config, "patients_6",
                    TABLES, (t, c) -> {
                        assertThat(setting(c, "etl_rollback.migration_id")).isEqualTo("patients_6");
                        assertThat(setting(c, "etl_rollback.migration_name")).isEqualTo("ScriptedTransformer");
                        execute(c, "update clinic.patients set name = 'tagged' where id = 1");
                    });
            transformer.safeRun();

            assertThat(setting(physical, "etl_rollback.migration_id")).isEmpty();
            execute(physical, "update clinic.patients set name = 'untagged' where id = 2");
            assertThat(DB.dsl().fetchValue("select count(*) from etl_rollback.changes")).isEqualTo(1L);
        }
    }

    @Test
    void defaultMigrationIdIsTheClassNameAndEpochSeconds() {
        long before = Instant.now().getEpochSecond();
        ScriptedTransformer transformer = new ScriptedTransformer(DB.dataSource(), config, null, TABLES,
                sql("", null));

        assertThat(transformer.migrationId()).matches("ScriptedTransformer_\\d+");
        assertThat(Long.parseLong(transformer.migrationId().substring("ScriptedTransformer_".length())))
                .isGreaterThanOrEqualTo(before);
        assertThat(Transformer.defaultMigrationId(ScriptedTransformer.class, Instant.ofEpochSecond(1640995200)))
                .isEqualTo("ScriptedTransformer_1640995200");
    }

    @Test
    void transformersMadeInOneSecondGetMigrationIdsOfTheirOwn() {
        ScriptedTransformer first = new ScriptedTransformer(DB.dataSource(), config, null, TABLES,
                sql("update clinic.patients set name = 'first' where id = 1", null));
        ScriptedTransformer second = new ScriptedTransformer(DB.dataSource(), config, null, TABLES,
                sql("update clinic.patients set name = 'second' where id = 2", null));
        assertThat(second.migrationId()).isNotEqualTo(first.migrationId()).matches("ScriptedTransformer_\\d+");
        first.safeRun();
        second.safeRun();

        RollbackResult result = first.rollbackMigration();

        assertThat(result.rowsRestored()).isEqualTo(1);
        assertThat(DB.dsl().fetchValue("select name from clinic.patients where id = 1")).isEqualTo("p1");
        assertThat(DB.dsl().fetchValue("select name from clinic.patients where id = 2")).isEqualTo("second");
    }

    @Test
    void defaultMigrationIdsFollowTheTimeOfConstructionOrTheNextFreeSecond() {
        Instant at = Instant.ofEpochSecond(4_102_444_800L);
        class OnlyHere {
        }
        assertThat(Transformer.newDefaultMigrationId(OnlyHere.class, at)).isEqualTo("OnlyHere_4102444800");
        assertThat(Transformer.newDefaultMigrationId(OnlyHere.class, at)).isEqualTo("OnlyHere_4102444801");
        assertThat(Transformer.newDefaultMigrationId(OnlyHere.class, at.plusSeconds(1)))
                .isEqualTo("OnlyHere_4102444802");
        assertThat(Transformer.newDefaultMigrationId(OnlyHere.class, at.plusSeconds(60)))
                .isEqualTo("OnlyHere_4102444860");
    }

    @Test
    void defaultMigrationIdTheLogHoldsAlreadyIsRefusedBeforeAnythingRuns() throws SQLException {
        ScriptedTransformer transformer = new ScriptedTransformer(DB.dataSource(), config, null, TABLES,
                sql(MIGRATE, null));
        // another process's run of the same class in the same second
        DB.executeTagged(transformer.migrationId(), "update clinic.patients set name = 'other' where id = 1");

        assertThatThrownBy(transformer::safeRun)
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.FAILED))
                .hasMessageContaining("the log already holds changes under " + transformer.migrationId())
                .hasMessageContaining("Nothing was run.");
        assertThat(transformer.runs).isZero();
    }

    @Test
    void untrackedAffectedTableIsRefusedBeforeAnythingRuns() throws SQLException {
        ScriptedTransformer transformer = new ScriptedTransformer(DB.dataSource(), config, "invoices_1",
                List.of("clinic.patients", "clinic.invoices"), sql("insert into clinic.invoices values (1, 1)", null));

        assertThatThrownBy(transformer::safeRun)
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.FAILED))
                .hasMessageContaining("writes tables that are not tracked: clinic.invoices")
                .hasMessageContaining("track-tables = true")
                .hasMessageContaining("Nothing was run");
        assertThat(transformer.runs).isZero();

        untagged("select etl_rollback.track('clinic.invoices')");
        transformer.safeRun();
        assertThat(transformer.runs).isEqualTo(1);
    }

    @Test
    void untrackedAffectedTableIsTrackedWhenConfiguredTo() {
        Map<String, String> before = state();
        ScriptedTransformer transformer = new ScriptedTransformer(DB.dataSource(), config.withTrackTables(true),
                "invoices_2", List.of("clinic.patients", "clinic.invoices"),
                sql("insert into clinic.invoices values (1, 1)", new IllegalStateException("x")));

        assertThatThrownBy(transformer::safeRun).isInstanceOf(MigrationFailedException.class);
        assertThat(DB.dsl().fetchValue("select count(*) from etl_rollback.tracked_tables"
                + " where table_name = 'clinic.invoices'")).isEqualTo(1L);
        assertThat(state()).isEqualTo(before);
    }

    @Test
    void missingOrUndeclaredTablesAreRefused() {
        assertThatThrownBy(() -> transformer("x_1", List.of("clinic.nope"), sql("", null)).safeRun())
                .hasMessageContaining("affected tables that do not exist: clinic.nope");
        assertThatThrownBy(() -> transformer("x_2", List.of(), sql("", null)).safeRun())
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.USAGE))
                .hasMessageContaining("declares no affected tables");
    }

    @Test
    void untrackedTablesTiedByForeignKeysAreFound() throws SQLException {
        AffectedTables tables;
        try (Connection c = DB.connect()) {
            tables = AffectedTables.inspect(org.jooq.impl.DSL.using(c), TABLES);
        }
        assertThat(tables.missing()).isEmpty();
        assertThat(tables.untracked()).isEmpty();
        assertThat(tables.untrackedReferenced()).isEqualTo(Map.of("clinic.patients", Set.of("clinic.wards")));
        assertThat(tables.untrackedCascading()).isEqualTo(Map.of("clinic.patients", Set.of("clinic.invoices")));
    }

    @Test
    void checkpointLetsARunUndoItsLastStepOnly() {
        String afterWards = """
                insert into clinic.patients values (100, 'Ada', null, 1);
                """;
        AtomicReference<RollbackResult> partial = new AtomicReference<>();
        ScriptedTransformer transformer = transformer("patients_7", (t, c) -> {
            execute(c, afterWards);
            Checkpoint records = t.checkpoint("records");
            assertThat(records).isEqualTo(new Checkpoint("patients_7", "records"));
            execute(c, "delete from clinic.medical_records where id > 5");
            partial.set(t.rollbackToCheckpoint(records));
        });
        transformer.safeRun();

        assertThat(partial.get().outcome()).isEqualTo(RollbackResult.Outcome.PARTIALLY_ROLLED_BACK);
        assertThat(DB.dsl().fetchValue("select count(*) from clinic.medical_records")).isEqualTo(10L);
        assertThat(DB.dsl().fetchValue("select count(*) from clinic.patients where id = 100")).isEqualTo(1L);
        assertThat(status("patients_7")).isEqualTo("partially_rolled_back");
        assertThat(DB.dsl().fetchValue("select name from etl_rollback.checkpoints where migration_id = 'patients_7'"))
                .isEqualTo("records");
    }

    @Test
    void checkpointsAreForTheRunningMigrationOnly() {
        ScriptedTransformer transformer = transformer("patients_8", sql("", null));
        assertThatThrownBy(() -> transformer.checkpoint("early"))
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.USAGE))
                .hasMessageContaining("call it from run()");
        assertThatThrownBy(() -> transformer.rollbackToCheckpoint(new Checkpoint("other", "records")))
                .hasMessageContaining("belongs to migration other, not to patients_8");

        ScriptedTransformer twice = transformer("patients_9", (t, c) -> {
            t.checkpoint("same");
            t.checkpoint("same");
        });
        assertThatThrownBy(twice::safeRun).isInstanceOfSatisfying(MigrationFailedException.class, e ->
                assertThat(e.getCause()).hasMessageContaining("already has a checkpoint named 'same'"));
    }

    @Test
    void listenersHearEveryEventInOrderAndCannotBreakTheRun() {
        List<String> events = new ArrayList<>();
        MigrationListener recorder = new MigrationListener() {
            @Override
            public void started(MigrationRun run) {
                events.add("started " + run.migrationId());
            }

            @Override
            public void completed(MigrationRun run) {
                events.add("completed " + run.migrationId());
            }

            @Override
            public void rolledBack(String transformer, RollbackResult result) {
                events.add("rolledBack " + result.migrationId() + " " + result.outcome());
            }

            @Override
            public void failed(MigrationFailure failure) {
                events.add("failed " + failure.migrationId() + " " + failure.autoRollback());
            }
        };
        MigrationListener broken = new MigrationListener() {
            @Override
            public void started(MigrationRun run) {
                throw new IllegalStateException("listener bug");
            }

            @Override
            public void failed(MigrationFailure failure) {
                throw new IllegalStateException("listener bug");
            }
        };

        transformer("ok_1", sql(MIGRATE, null)).addListener(broken).addListener(recorder).safeRun();
        assertThatThrownBy(() -> transformer("bad_1", sql("update clinic.patients set name = 'x' where id = 5",
                new IllegalStateException("x")))
                .addListener(broken).addListener(recorder).safeRun())
                .isInstanceOf(MigrationFailedException.class);

        assertThat(events).containsExactly(
                "started ok_1", "completed ok_1",
                "started bad_1", "rolledBack bad_1 ROLLED_BACK", "failed bad_1 ROLLED_BACK");
    }

    @Test
    void failureBeforeAnyChangeHasNothingToRollBack() {
        ScriptedTransformer transformer = transformer("empty_1", sql("", new IllegalStateException("no input")));
        assertThatThrownBy(transformer::safeRun).isInstanceOfSatisfying(MigrationFailedException.class, e -> {
            assertThat(e.failure().autoRollback()).isEqualTo(AutoRollback.NOTHING_TO_ROLL_BACK);
            assertThat(e.getMessage()).contains("nothing to roll back");
        });
    }

    @Test
    void failedAutomaticRollbackIsReportedAndTheOriginalKept() {
        IllegalStateException boom = new IllegalStateException("boom");
        ScriptedTransformer transformer = transformer("conflict_1", (t, c) -> {
            execute(c, "update clinic.patients set name = 'by the migration' where id = 1");
            untagged("update clinic.patients set name = 'by someone else' where id = 1");
            throw boom;
        });

        assertThatThrownBy(transformer::safeRun).isInstanceOfSatisfying(MigrationFailedException.class, e -> {
            assertThat(e.getCause()).isSameAs(boom);
            assertThat(e.failure().autoRollback()).isEqualTo(AutoRollback.FAILED);
            assertThat(e.failure().rollbackFailure()).get().isInstanceOf(ConflictException.class);
            assertThat(e.getSuppressed()).hasSize(1).hasOnlyElementsOfType(ConflictException.class);
            assertThat(e.getMessage()).contains("The automatic rollback failed too", "still in place");
        });
        assertThat(DB.dsl().fetchValue("select name from clinic.patients where id = 1")).isEqualTo("by someone else");
        assertThat(status("conflict_1")).isEqualTo("active");
    }

    @Test
    void disabledByConfigurationNothingIsLoggedNorRolledBack() {
        ScriptedTransformer transformer = new ScriptedTransformer(DB.dataSource(), config.withEnabled(false),
                "off_1", TABLES, sql(MIGRATE, new IllegalStateException("x")));

        assertThatThrownBy(transformer::safeRun).isInstanceOfSatisfying(MigrationFailedException.class,
                e -> assertThat(e.failure().autoRollback()).isEqualTo(AutoRollback.NOT_LOGGED));
        assertThat(DB.dsl().fetchValue("select count(*) from etl_rollback.migrations")).isEqualTo(0L);
        assertThatThrownBy(transformer::rollbackMigration)
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.USAGE))
                .hasMessageContaining("enabled = false");
    }

    @Test
    void aTransformerRunsOnce() {
        ScriptedTransformer transformer = transformer("once_1", sql("", null));
        transformer.safeRun();
        assertThatThrownBy(transformer::safeRun)
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.USAGE))
                .hasMessageContaining("has run already as migration once_1");
        assertThat(transformer.runs).isEqualTo(1);
    }

    @Test
    void rolledBackMigrationIdIsRefusedBeforeAnythingRuns() {
        assertThatThrownBy(transformer("reused_1", sql(MIGRATE, new IllegalStateException("x")))::safeRun)
                .isInstanceOf(MigrationFailedException.class);
        ScriptedTransformer again = transformer("reused_1", sql(MIGRATE, null));

        assertThatThrownBy(again::safeRun)
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.FAILED))
                .hasMessageContaining("migration reused_1 has been rolled back (rolled_back)")
                .hasMessageContaining("new migration id");
        assertThat(again.runs).isZero();
    }

    @Test
    void invalidMigrationIdIsRefused() {
        assertThatThrownBy(() -> transformer("a\nb", sql("", null)))
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.USAGE))
                .hasMessageContaining("'a?b' is not valid");
    }

    private ScriptedTransformer transformer(String migrationId, ScriptedTransformer.Body body) {
        return transformer(migrationId, TABLES, body);
    }

    private ScriptedTransformer transformer(String migrationId, List<String> tables, ScriptedTransformer.Body body) {
        return new ScriptedTransformer(DB.dataSource(), config, migrationId, tables, body);
    }

    /** A data source that hands out one physical connection again and again, as a pool of one would. */
    private static DataSource poolOfOne(Connection physical) {
        return new PGSimpleDataSource() {
            private static final long serialVersionUID = 1L;

            @Override
            public Connection getConnection() {
                return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(),
                        new Class<?>[] {Connection.class}, (proxy, method, args) -> {
                            if (method.getName().equals("close")) {
                                return null;
                            }
                            try {
                                return method.invoke(physical, args);
                            } catch (InvocationTargetException e) {
                                throw e.getCause();
                            }
                        });
            }
        };
    }

    private static String setting(Connection c, String name) throws SQLException {
        try (Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("select current_setting('" + name + "', true)")) {
            rs.next();
            return rs.getString(1) == null ? "" : rs.getString(1);
        }
    }

    private static Map<String, String> state() {
        return TableState.of(DB.dsl(), "clinic.patients", "clinic.medical_records", "clinic.invoices");
    }

    private static String status(String migrationId) {
        return (String) DB.dsl().fetchValue("select status from etl_rollback.migrations where migration_id = {0}",
                migrationId);
    }

    private static void untagged(String statements) throws SQLException {
        try (Connection c = DB.connect(); Statement s = c.createStatement()) {
            s.execute(statements);
        }
    }
}
