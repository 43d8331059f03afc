package org.etlrollback.internal.install;

import static org.assertj.core.api.Assertions.assertThat;

import org.etlrollback.EtlRollback;
import org.etlrollback.InstallResult;
import org.etlrollback.RollbackOptions;
import org.etlrollback.TestDatabase;
import org.etlrollback.internal.database.Database;
import org.junit.jupiter.api.Test;

/** Upgrading an older install in place, with a later version of the scripts standing in for a later build. */
class InstallerIT {
    private static final String LATER_VERSION = "classpath:org/etlrollback/install-upgrade-test";

    @Test
    void aLaterVersionUpgradesInPlaceKeepingTrackingAndTheLog() {
        TestDatabase db = TestDatabase.forClass(InstallerIT.class);
        db.dsl().execute("DROP SCHEMA etl_rollback CASCADE; CREATE TABLE public.items (id int PRIMARY KEY, qty int)");
        Database database = new Database(db.dataSource(), db.url());
        InstallResult first = new Installer(database).install();
        EtlRollback.configure().dataSource(db.dataSource()).load().track("public.items");
        db.dsl().execute("""
                SET etl_rollback.migration_id = 'before_upgrade';
                INSERT INTO public.items VALUES (1, 5);
                RESET etl_rollback.migration_id""");

        InstallResult upgrade = new Installer(database, Installer.LOCATION, LATER_VERSION).install();
        InstallResult again = new Installer(database, Installer.LOCATION, LATER_VERSION).install();

        assertThat(first.schemaVersion()).isEqualTo("3");
        assertThat(upgrade.previousSchemaVersion()).isEqualTo("3");
        assertThat(upgrade.schemaVersion()).isEqualTo("4");
        assertThat(upgrade.scriptsApplied()).isEqualTo(1);
        assertThat(again.upToDate()).isTrue();
        assertThat(db.dsl().fetchValue("SELECT note FROM etl_rollback.upgrade_test")).isEqualTo("installed by version 4");
        db.dsl().execute("""
                SET etl_rollback.migration_id = 'after_upgrade';
                UPDATE public.items SET qty = 6 WHERE id = 1;
                RESET etl_rollback.migration_id""");
        assertThat(db.dsl().fetch("SELECT migration_id || ' ' || op FROM etl_rollback.changes ORDER BY seq")
                .getValues(0, String.class)).containsExactly("before_upgrade INSERT", "after_upgrade UPDATE");
    }

    @Test
    void anUpgradeThatChangesTheCaptureRewritesTheCaptureOfTablesTrackedBefore() {
        TestDatabase db = TestDatabase.forClass(InstallerIT.class);
        db.dsl().execute("DROP SCHEMA etl_rollback CASCADE; CREATE TABLE public.stock (id int PRIMARY KEY, qty int)");
        Database database = new Database(db.dataSource(), db.url());
        new Installer(database).install();
        EtlRollback.configure().dataSource(db.dataSource()).load().track("public.stock");
        // an older build, whose capture logged no updates and whose capture script differs from this build's
        db.dsl().execute("""
                DO $$
                DECLARE
                    v_fn regprocedure;
                BEGIN
                    SELECT p.oid::regprocedure INTO STRICT v_fn FROM pg_catalog.pg_proc p
                     WHERE p.pronamespace = 'etl_rollback'::regnamespace AND p.proname LIKE '\\_capture\\_%\\_u';
                    EXECUTE format('CREATE OR REPLACE FUNCTION %s RETURNS trigger LANGUAGE plpgsql AS '
                                   '$b$BEGIN RETURN NULL; END$b$', v_fn);
                END
                $$;
                UPDATE etl_rollback.flyway_schema_history SET checksum = checksum + 1 WHERE script = 'R__capture.sql'""");

        InstallResult upgrade = new Installer(database).install();
        db.dsl().execute("""
                INSERT INTO public.stock VALUES (1, 5);
                SET etl_rollback.migration_id = 'after_upgrade';
                UPDATE public.stock SET qty = 6 WHERE id = 1;
                RESET etl_rollback.migration_id""");

        assertThat(upgrade.scriptsApplied()).isEqualTo(1);
        assertThat(db.dsl().fetch("SELECT migration_id || ' ' || op || ' ' || (new_row->>'qty') FROM etl_rollback.changes")
                .getValues(0, String.class)).containsExactly("after_upgrade UPDATE 6");
    }

    @Test
    void anInstallOfVersionOneIsUpgradedToTheLatestAndKeepsItsLog() {
        TestDatabase db = TestDatabase.forClass(InstallerIT.class);
        db.dsl().execute("DROP SCHEMA etl_rollback CASCADE; CREATE TABLE public.parts (id int PRIMARY KEY, qty int)");
        Database database = new Database(db.dataSource(), db.url());
        new Installer(database).install();
        EtlRollback etlRollback = EtlRollback.configure().dataSource(db.dataSource()).load();
        etlRollback.track("public.parts");
        // version 1 as it was: the statements indexed by migration alone, no record of what rollbacks undid
        db.dsl().execute("""
                DROP INDEX etl_rollback.statement_mig_table;
                CREATE INDEX statement_mig ON etl_rollback.statement (mig, stmt);
                ALTER TABLE etl_rollback.migration DROP COLUMN undid_after_seq, DROP COLUMN undid_upto_seq,
                    DROP COLUMN undid_all;
                DELETE FROM etl_rollback.flyway_schema_history WHERE version IN ('2', '3');
                SET etl_rollback.migration_id = 'before_upgrade';
                INSERT INTO public.parts VALUES (1, 5), (2, 7);
                UPDATE public.parts SET qty = 6 WHERE id = 1;
                RESET etl_rollback.migration_id""");

        InstallResult upgrade = new Installer(database).install();

        assertThat(upgrade.previousSchemaVersion()).isEqualTo("1");
        assertThat(upgrade.schemaVersion()).isEqualTo("3");
        assertThat(db.dsl().fetch("SELECT indexdef FROM pg_indexes WHERE schemaname = 'etl_rollback'"
                        + " AND tablename = 'statement' ORDER BY indexname").getValues(0, String.class))
                .containsExactly(
                        "CREATE INDEX statement_mig_table ON etl_rollback.statement USING btree (mig, table_id, stmt)",
                        "CREATE UNIQUE INDEX statement_pkey ON etl_rollback.statement USING btree (stmt)");
        assertThat(etlRollback.rollback("before_upgrade", RollbackOptions.defaults()).rowsRestored()).isEqualTo(2);
        assertThat(db.dsl().fetchValue("SELECT count(*) FROM public.parts")).isEqualTo(0L);
        assertThat(db.dsl().fetchValue("SELECT concat_ws(' ', undid_after_seq, undid_upto_seq, undid_all)"
                + " FROM etl_rollback.migration WHERE migration_id = 'rollback:before_upgrade'")).isEqualTo("0 t");
    }

    @Test
    void aRollbackMadeBeforeVersionThreeLeavesItsMigrationPartlyRolledBackWhenPutBackInForce() {
        TestDatabase db = TestDatabase.forClass(InstallerIT.class);
        db.dsl().execute("DROP SCHEMA etl_rollback CASCADE; CREATE TABLE public.bins (id int PRIMARY KEY, qty int)");
        Database database = new Database(db.dataSource(), db.url());
        new Installer(database).install();
        EtlRollback etlRollback = EtlRollback.configure().dataSource(db.dataSource()).load();
        etlRollback.track("public.bins");
        db.dsl().execute("""
                SET etl_rollback.migration_id = 'load';
                INSERT INTO public.bins VALUES (1, 5), (2, 7);
                RESET etl_rollback.migration_id""");
        etlRollback.rollback("load", RollbackOptions.defaults());
        // version 2 as it was: a rollback recorded nothing of what it undid
        db.dsl().execute("""
                ALTER TABLE etl_rollback.migration DROP COLUMN undid_after_seq, DROP COLUMN undid_upto_seq,
                    DROP COLUMN undid_all;
                DELETE FROM etl_rollback.flyway_schema_history WHERE version = '3';""");

        InstallResult upgrade = new Installer(database).install();
        etlRollback.rollback("rollback:load", RollbackOptions.defaults());
        String undone = status(db, "load");
        etlRollback.rollback("rollback:rollback:load", RollbackOptions.defaults());

        assertThat(upgrade.previousSchemaVersion()).isEqualTo("2");
        assertThat(undone).isEqualTo("active");
        // rollback:load is in force again, but what it undid is not known: part of load, at least, is undone
        assertThat(status(db, "load")).isEqualTo("partially_rolled_back");
        assertThat(db.dsl().fetchValue("SELECT count(*) FROM public.bins")).isEqualTo(0L);
        assertThat(etlRollback.rollback("load", RollbackOptions.defaults()).rowsRestored()).isZero();
        assertThat(status(db, "load")).isEqualTo("rolled_back");
    }

    private static String status(TestDatabase db, String migrationId) {
        return db.dsl().fetchValue("SELECT status FROM etl_rollback.migration WHERE migration_id = '" + migrationId
                + "'").toString();
    }
}
