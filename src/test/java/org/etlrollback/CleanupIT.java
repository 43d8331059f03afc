package org.etlrollback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;

import org.jooq.DSLContext;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** cleanup through the facade: which migrations' logs go, which stay, and what is left of them. */
class CleanupIT {
    private static final Duration THIRTY_DAYS = Duration.ofDays(30);

    private TestDatabase db;
    private EtlRollback etlRollback;

    @BeforeEach
    void database() {
        db = TestDatabase.forClass(CleanupIT.class);
        etlRollback = EtlRollback.configure().dataSource(db.dataSource()).load();
        db.dsl().execute("""
                CREATE TABLE public.customers (id int PRIMARY KEY, name text);
                CREATE TABLE public.orders (id int PRIMARY KEY, customer_id int REFERENCES public.customers);
                SELECT etl_rollback.track('public.customers');
                SELECT etl_rollback.track('public.orders')""");
    }

    /** Runs the statements in a session tagged with the migration id. */
    private void tagged(String migrationId, String statements) {
        db.dsl().execute("SET etl_rollback.migration_id = '" + migrationId + "';\n" + statements);
    }

    /** Moves everything the log holds about the migration the given number of days into the past. */
    private void backdate(String migrationId, int days) {
        DSLContext dsl = db.dsl();
        String age = days + " days";
        dsl.execute("UPDATE etl_rollback.migration SET started_at = started_at - ?::interval,"
                + " rolled_back_at = rolled_back_at - ?::interval WHERE migration_id = ?", age, age, migrationId);
        dsl.execute("UPDATE etl_rollback.statement s SET changed_at = changed_at - ?::interval"
                + " FROM etl_rollback.migration m WHERE m.mig = s.mig AND m.migration_id = ?", age, migrationId);
        dsl.execute("UPDATE etl_rollback.checkpoint c SET created_at = created_at - ?::interval"
                + " FROM etl_rollback.migration m WHERE m.mig = c.mig AND m.migration_id = ?", age, migrationId);
    }

    /** Per migration in the catalog: its log rows, statements and checkpoints. */
    private Map<String, String> logged() {
        return db.dsl().fetch("""
                SELECT m.migration_id,
                       format('changes=%s statements=%s checkpoints=%s',
                              (SELECT count(*) FROM etl_rollback.changes c WHERE c.migration_id = m.migration_id),
                              (SELECT count(*) FROM etl_rollback.statement s WHERE s.mig = m.mig),
                              (SELECT count(*) FROM etl_rollback.checkpoint k WHERE k.mig = m.mig))
                  FROM etl_rollback.migration m""")
                .intoMap(r -> r.get(0, String.class), r -> r.get(1, String.class));
    }

    /** Rows in all log tables. */
    private long logRows() {
        return db.dsl().fetchSingle("SELECT count(*) FROM etl_rollback.changes").get(0, Long.class);
    }

    private void oldAndNewMigrations() {
        tagged("old_load", """
                INSERT INTO public.customers VALUES (1, 'Ada'), (2, 'Grace');
                SELECT etl_rollback.checkpoint('customers_loaded');
                INSERT INTO public.orders VALUES (10, 1), (11, 2);
                UPDATE public.customers SET name = 'Grace H.' WHERE id = 2""");
        tagged("new_load", """
                INSERT INTO public.customers VALUES (3, 'Edsger');
                INSERT INTO public.orders VALUES (12, 3)""");
        backdate("old_load", 40);
    }

    @Test
    void aDryRunReportsTheOldMigrationsAndDeletesNothing() {
        oldAndNewMigrations();
        Map<String, String> before = logged();

        CleanupResult result = etlRollback.cleanup(THIRTY_DAYS, true);

        assertThat(result.dryRun()).isTrue();
        assertThat(result.migrationIds()).containsExactly("old_load");
        assertThat(result.deleted()).singleElement().satisfies(d -> assertThat(d.logRows()).isEqualTo(5));
        assertThat(result.logRows()).isEqualTo(5);
        assertThat(result.kept()).isEmpty();
        assertThat(logged()).isEqualTo(before);
    }

    @Test
    void cleanupDeletesExactlyTheOldMigrationsAndEverythingLoggedForThem() {
        oldAndNewMigrations();
        Map<String, String> before = logged();
        assertThat(before).containsEntry("old_load", "changes=5 statements=3 checkpoints=1")
                .containsEntry("new_load", "changes=2 statements=2 checkpoints=0");
        long rowsBefore = logRows();

        CleanupResult result = etlRollback.cleanup(THIRTY_DAYS, false);

        assertThat(result.dryRun()).isFalse();
        assertThat(result.migrationIds()).containsExactly("old_load");
        assertThat(result.logRows()).isEqualTo(5);
        assertThat(logged()).containsOnlyKeys("new_load").containsEntry("new_load", before.get("new_load"));
        assertThat(logRows()).isEqualTo(rowsBefore - 5);
        assertThat(etlRollback.list()).extracting(MigrationSummary::migrationId).containsExactly("new_load");
        assertThatThrownBy(() -> etlRollback.rollback("old_load", RollbackOptions.defaults()))
                .hasMessageContaining("unknown migration id old_load");
        // what is left still rolls back
        RollbackResult undo = etlRollback.rollback("new_load", RollbackOptions.defaults().withVerify(true));
        assertThat(undo.rowsRestored()).isEqualTo(2);
        assertThat(db.dsl().fetchValue("SELECT count(*) FROM public.customers")).isEqualTo(2L);
    }

    @Test
    void theCutoffIsMeasuredFromTheLastChangeNotTheStart() {
        oldAndNewMigrations();
        // started long ago, changed recently
        db.dsl().execute("UPDATE etl_rollback.migration SET started_at = started_at - interval '90 days'"
                + " WHERE migration_id = 'new_load'");

        assertThat(etlRollback.cleanup(THIRTY_DAYS, true).migrationIds()).containsExactly("old_load");
        assertThat(etlRollback.cleanup(Duration.ofDays(41), true).migrationIds()).isEmpty();
        assertThat(etlRollback.cleanup(Duration.ZERO, true).migrationIds()).containsExactly("old_load", "new_load");
    }

    @Test
    void aMigrationAndItsRollbackAreDeletedTogetherOrKeptTogether() {
        oldAndNewMigrations();
        etlRollback.rollback("old_load", RollbackOptions.defaults());

        CleanupResult whileTheRollbackIsRecent = etlRollback.cleanup(THIRTY_DAYS, false);
        assertThat(whileTheRollbackIsRecent.deleted()).isEmpty();
        assertThat(whileTheRollbackIsRecent.kept()).singleElement().satisfies(kept -> {
            assertThat(kept.migrationId()).isEqualTo("old_load");
            assertThat(kept.reason()).isEqualTo("it is linked by rollback to rollback:old_load (newer than the cutoff),"
                    + " and a migration and its rollbacks are deleted together");
        });
        assertThat(logged()).containsKeys("old_load", "rollback:old_load");

        backdate("rollback:old_load", 35);
        CleanupResult bothOld = etlRollback.cleanup(THIRTY_DAYS, false);
        assertThat(bothOld.migrationIds()).containsExactly("old_load", "rollback:old_load");
        assertThat(bothOld.deleted()).extracting(CleanupResult.Deleted::logRows).containsExactly(5L, 4L);
        assertThat(logged()).containsOnlyKeys("new_load");
    }

    @Test
    void aMigrationThatAnOpenTransactionIsWritingIsKept() throws SQLException {
        oldAndNewMigrations();
        try (Connection writer = db.connect(); Statement s = writer.createStatement()) {
            writer.setAutoCommit(false);
            s.execute("SET etl_rollback.migration_id = 'old_load'");
            s.execute("INSERT INTO public.customers VALUES (20, 'Barbara')");

            CleanupResult result = etlRollback.cleanup(THIRTY_DAYS, false);

            assertThat(result.deleted()).isEmpty();
            assertThat(result.kept()).singleElement().satisfies(kept -> {
                assertThat(kept.migrationId()).isEqualTo("old_load");
                assertThat(kept.reason()).isEqualTo("an open transaction is still writing it");
            });
            writer.commit();
        }
        assertThat(logged()).containsEntry("old_load", "changes=6 statements=4 checkpoints=1");
        assertThat(etlRollback.cleanup(THIRTY_DAYS, true).migrationIds()).isEmpty();
    }

    @Test
    void aMigrationThatARollbackHoldsIsKept() throws SQLException {
        oldAndNewMigrations();
        try (Connection rollback = db.connect(); Statement s = rollback.createStatement()) {
            rollback.setAutoCommit(false);
            // what a running rollback of old_load holds until it ends
            s.execute("SELECT pg_advisory_xact_lock(x'45524c42'::int, mig) FROM etl_rollback.migration"
                    + " WHERE migration_id = 'old_load'");

            CleanupResult result = etlRollback.cleanup(THIRTY_DAYS, false);

            assertThat(result.deleted()).isEmpty();
            assertThat(result.kept()).extracting(CleanupResult.Kept::migrationId, CleanupResult.Kept::reason)
                    .containsExactly(tuple("old_load", "a rollback of it is running"));
            rollback.rollback();
        }
        assertThat(etlRollback.cleanup(THIRTY_DAYS, false).migrationIds()).containsExactly("old_load");
    }

    @Test
    void onlyTheOwnerAndAdminsMayCleanUp() throws SQLException {
        oldAndNewMigrations();
        TestDatabase.Login viewer = db.createLogin("viewer", "etl_rollback_viewer");
        EtlRollback asViewer = EtlRollback.configure().dataSource(viewer.dataSource()).load();

        assertThatThrownBy(() -> asViewer.cleanup(THIRTY_DAYS, true))
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.FAILED))
                .hasMessage("role " + viewer.user() + " may not delete the log of migrations: that needs the owner of"
                        + " etl-rollback or a member of etl_rollback_admin (GRANT etl_rollback_admin TO "
                        + viewer.user() + "). Nothing was changed.");
        TestDatabase.Login admin = db.createLogin("admin", "etl_rollback_admin");
        assertThat(EtlRollback.configure().dataSource(admin.dataSource()).load().cleanup(THIRTY_DAYS, false)
                .migrationIds()).containsExactly("old_load");
        assertThat(logged()).containsOnlyKeys("new_load");
    }

    @Test
    void aNegativeAgeIsAUsageError() {
        assertThatThrownBy(() -> etlRollback.cleanup(Duration.ofDays(-1), true))
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.USAGE))
                .hasMessageContaining("zero or more");
    }

    @Test
    void anEmptyLogHasNothingToDelete() {
        CleanupResult result = etlRollback.cleanup(Duration.ZERO, false);

        assertThat(result.deleted()).isEmpty();
        assertThat(result.kept()).isEmpty();
        assertThat(result.logRows()).isZero();
    }
}
