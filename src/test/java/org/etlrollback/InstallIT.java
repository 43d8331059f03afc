package org.etlrollback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.stream.Stream;

import org.flywaydb.core.Flyway;
import org.jooq.Result;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Installing through the facade: into its own schema, idempotent, in place, never into the application's Flyway. */
class InstallIT {
    private TestDatabase db;

    @BeforeEach
    void freshDatabase() {
        db = TestDatabase.forClass(InstallIT.class);
    }

    private EtlRollback etlRollback() {
        return EtlRollback.configure().dataSource(db.dataSource()).load();
    }

    private void uninstall() {
        db.dsl().execute("DROP SCHEMA etl_rollback CASCADE");
    }

    /** The install scripts, counted where they are written: db/migration at the project root. */
    private Result<?> history(String schema) {
        return db.dsl().fetch("SELECT installed_rank, version, script, checksum, success FROM "
                + schema + ".flyway_schema_history ORDER BY installed_rank");
    }

    @Test
    void freshInstallAppliesEveryScriptIntoItsOwnSchema() throws IOException {
        uninstall();
        InstallResult result = etlRollback().install();

        assertThat(result.freshInstall()).isTrue();
        assertThat(result.previousSchemaVersion()).isNull();
        assertThat(result.schemaVersion()).isEqualTo("3");
        assertThat((long) result.scriptsApplied()).isEqualTo(TestDatabase.installScripts());
        assertThat(db.dsl().fetchValue("SELECT to_regclass('etl_rollback.flyway_schema_history')::text"))
                .isEqualTo("etl_rollback.flyway_schema_history");
        assertThat(db.dsl().fetchValue("SELECT to_regclass('public.flyway_schema_history')")).isNull();
        assertThat(db.dsl().fetch("SELECT viewname FROM pg_views WHERE schemaname = 'etl_rollback' ORDER BY 1")
                .getValues(0, String.class)).contains("changes", "checkpoints", "migrations", "tracked_tables");
    }

    @Test
    void installingTwiceIsHarmless() {
        EtlRollback etlRollback = etlRollback();
        etlRollback.install();
        List<?> before = history("etl_rollback").intoMaps();

        InstallResult again = etlRollback.install();

        assertThat(again.upToDate()).isTrue();
        assertThat(again.scriptsApplied()).isZero();
        assertThat(again.schemaVersion()).isEqualTo("3").isEqualTo(again.previousSchemaVersion());
        assertThat(history("etl_rollback").intoMaps()).isEqualTo(before);
    }

    @Test
    void reinstallingKeepsTrackedTablesTheirLogsAndTheirCapture() {
        db.dsl().execute("CREATE TABLE public.accounts (id int PRIMARY KEY, balance numeric)");
        EtlRollback etlRollback = etlRollback();
        etlRollback.track("public.accounts");
        db.dsl().execute("""
                SET etl_rollback.migration_id = 'before_reinstall';
                INSERT INTO public.accounts VALUES (1, 10);
                RESET etl_rollback.migration_id""");
        // a changed repeatable script (as a new version of etl-rollback brings) is applied again
        db.dsl().execute("UPDATE etl_rollback.flyway_schema_history SET checksum = checksum + 1 WHERE script = 'R__capture.sql'");

        InstallResult result = etlRollback.install();

        assertThat(result.scriptsApplied()).isEqualTo(1);
        assertThat(result.schemaVersion()).isEqualTo("3").isEqualTo(result.previousSchemaVersion());
        db.dsl().execute("""
                SET etl_rollback.migration_id = 'after_reinstall';
                UPDATE public.accounts SET balance = 20 WHERE id = 1;
                RESET etl_rollback.migration_id""");
        assertThat(db.dsl().fetch("SELECT migration_id, op, new_row::text FROM etl_rollback.changes ORDER BY seq")
                .map(r -> r.get(0) + " " + r.get(1) + " " + r.get(2)))
                .containsExactly("before_reinstall INSERT {\"id\": 1, \"balance\": 10}",
                        "after_reinstall UPDATE {\"id\": 1, \"balance\": 20}");
        assertThat(db.dsl().fetch("SELECT table_name FROM etl_rollback.tracked_tables").getValues(0, String.class))
                .containsExactly("public.accounts");
    }

    @Test
    void theApplicationsOwnFlywayHistoryIsNeverTouched() {
        Flyway application = Flyway.configure()
                .dataSource(db.dataSource())
                .locations("classpath:org/etlrollback/app-migrations")
                .load();
        uninstall();
        application.migrate();
        List<?> applicationHistory = history("public").intoMaps();

        etlRollback().install();
        etlRollback().install();

        assertThat(history("public").intoMaps()).isEqualTo(applicationHistory);
        assertThat(Stream.of(application.info().all()).map(m -> m.getScript()))
                .containsExactly("V1__shop.sql", "V2__orders.sql");
        assertThat(application.migrate().migrationsExecuted).isZero();
        application.validate();
        assertThat(history("etl_rollback").getValues("script", String.class))
                .doesNotContain("V1__shop.sql", "V2__orders.sql");
    }

    @Test
    void theScriptsAreNotWhereAnApplicationsFlywayLooks() {
        ClassLoader loader = InstallIT.class.getClassLoader();
        assertThat(loader.getResource("org/etlrollback/install/V1__change_log.sql")).isNotNull();
        assertThat(loader.getResource("db/migration/V1__change_log.sql")).isNull();
        assertThat(Flyway.configure().dataSource(db.dataSource()).load().info().all())
                .as("an application's Flyway with the default location finds nothing of etl-rollback")
                .isEmpty();
    }

    @Test
    void aNewerInstallIsNotDowngraded() {
        db.dsl().execute("""
                INSERT INTO etl_rollback.flyway_schema_history
                    (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success)
                VALUES (100, '99', 'from the future', 'SQL', 'V99__from_the_future.sql', 1, current_user, 0, true)""");
        List<?> before = history("etl_rollback").intoMaps();

        assertThatThrownBy(() -> etlRollback().install())
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.FAILED))
                .hasMessageContaining("version 99")
                .hasMessageContaining("newer")
                .hasMessageContaining("Nothing was changed");
        assertThat(history("etl_rollback").intoMaps()).isEqualTo(before);
    }

    @Test
    void aSchemaInTheWayIsReportedAndLeftAsItWas() {
        uninstall();
        db.dsl().execute("CREATE SCHEMA etl_rollback; CREATE TABLE etl_rollback.someone_elses (id int)");

        assertThatThrownBy(() -> etlRollback().install())
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.FAILED))
                .hasMessageStartingWith("install: the schema etl_rollback exists")
                .hasMessageContaining("Rename or drop that schema")
                .hasMessageContaining("Nothing was changed")
                .hasMessageContaining(db.url());
        assertThat(db.dsl().fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'etl_rollback'")
                .getValues(0, String.class)).containsExactly("someone_elses");
    }

    @Test
    void anOrdinaryUserWhoMayCreateSchemasCanInstallAndTrackTheirTables() throws SQLException {
        uninstall();
        TestDatabase.Login owner = db.createLogin("engine_owner");
        db.dsl().execute("GRANT CREATE ON DATABASE " + db.name() + " TO " + owner.user());
        db.dsl().execute("GRANT CREATE ON SCHEMA public TO " + owner.user());
        EtlRollback asOwner = EtlRollback.configure().url(db.url()).user(owner.user()).password(owner.password()).load();

        InstallResult result = asOwner.install();
        try (var connection = owner.connect()) {
            connection.createStatement().execute("CREATE TABLE public.owned (id int PRIMARY KEY)");
        }
        TrackResult tracked = asOwner.track("public.owned");

        assertThat(result.freshInstall()).isTrue();
        assertThat(tracked.tables()).containsExactly("public.owned");
        assertThat(db.dsl().fetchValue("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'etl_rollback'"))
                .isEqualTo(owner.user());
    }

    @Test
    void aTaggedTruncateOfRowsThatRowLevelSecurityHidesFromTheEnginesOwnerFailsRatherThanLoggingSome()
            throws SQLException {
        uninstall();
        TestDatabase.Login owner = db.createLogin("engine_owner");
        TestDatabase.Login app = db.createLogin("tenant_app");
        db.dsl().execute("GRANT CREATE ON DATABASE " + db.name() + " TO " + owner.user());
        EtlRollback asOwner = EtlRollback.configure().url(db.url()).user(owner.user()).password(owner.password()).load();
        asOwner.install();
        db.dsl().execute("""
                CREATE TABLE public.tenant_rows (id int PRIMARY KEY, tenant text NOT NULL);
                INSERT INTO public.tenant_rows SELECT g, CASE WHEN g % 2 = 0 THEN 'a' ELSE 'b' END FROM generate_series(1, 10) g;
                ALTER TABLE public.tenant_rows OWNER TO {0};
                ALTER TABLE public.tenant_rows ENABLE ROW LEVEL SECURITY;
                CREATE POLICY tenant_a ON public.tenant_rows TO {1} USING (tenant = 'a');
                GRANT SELECT, TRIGGER ON public.tenant_rows TO {1}""".replace("{0}", app.user()).replace("{1}", owner.user()));
        asOwner.track("public.tenant_rows");

        // the table's owner, whom its policies spare, truncates it; the capture reads it as the engine's owner,
        // who sees the tenant a rows only
        try (Connection c = app.connect(); Statement s = c.createStatement()) {
            TestDatabase.tag(c, "wipe");
            assertThatThrownBy(() -> s.execute("TRUNCATE public.tenant_rows"))
                    .hasMessageContaining("row-level security");
        }
        assertThat(db.dsl().fetchValue("SELECT count(*) FROM public.tenant_rows")).isEqualTo(10L);
        assertThat(db.dsl().fetchValue("SELECT count(*) FROM etl_rollback.changes WHERE migration_id = 'wipe'"))
                .isEqualTo(0L);
    }
}
