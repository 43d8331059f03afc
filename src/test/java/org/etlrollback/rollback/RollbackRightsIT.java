package org.etlrollback.rollback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import org.etlrollback.Reverser;
import org.etlrollback.RollbackOptions;
import org.etlrollback.RollbackResult;
import org.etlrollback.TestDatabase;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Who may roll back: a member of etl_rollback_admin with rights on the application's tables, no superuser
 * needed; an application role that ran the migration may not, and is told so.
 */
class RollbackRightsIT {
    private static final Scenario DB = new Scenario(TestDatabase.forClass(RollbackRightsIT.class));
    private static final String[] TABLES = {"shop.customers", "shop.orders"};
    private static TestDatabase.Login admin;
    private static TestDatabase.Login application;

    @BeforeAll
    static void roles() throws SQLException {
        admin = DB.db().createLogin("rollback_admin", "etl_rollback_admin");
        application = DB.db().createLogin("etl_job");
    }

    @BeforeEach
    void schema() throws SQLException {
        DB.forgetMigrations();
        DB.sql("""
                drop schema if exists shop cascade;
                create schema shop;
                create table shop.customers (id int primary key, name text not null, balance numeric(12,2));
                create table shop.orders (id int primary key,
                    customer_id int not null references shop.customers on delete cascade, amount numeric(12,2));
                insert into shop.customers select g, 'c' || g, g * 1.5 from generate_series(1, 20) g;
                insert into shop.orders select g, 1 + g %% 20, g from generate_series(1, 40) g;
                select etl_rollback.track('shop.customers');
                select etl_rollback.track('shop.orders');
                grant usage on schema shop to %1$s, %2$s;
                grant select, insert, update, delete on shop.customers, shop.orders to %1$s, %2$s;
                """.formatted(admin.user(), application.user()));
    }

    /** The application role runs a migration, as an ETL job would. */
    private static void migrate() throws SQLException {
        try (Connection c = application.connect(); Statement s = c.createStatement()) {
            TestDatabase.tag(c, "m1");
            s.execute("""
                    insert into shop.customers values (100, 'new', 0);
                    update shop.customers set balance = 0 where id <= 5;
                    delete from shop.customers where id = 6;
                    insert into shop.orders values (100, 100, 1);
                    """);
        }
    }

    @Test
    void memberOfTheAdminRoleWhoIsNotSuperuserRollsBack() throws SQLException {
        assertThat(DB.text("select rolsuper::text from pg_roles where rolname = ?", admin.user())).isEqualTo("false");
        Map<String, String> before = DB.state(TABLES);
        migrate();

        RollbackResult result = Reverser.using(admin.dataSource())
                .rollback("m1", RollbackOptions.defaults().withVerify(true));

        assertThat(result.outcome()).isEqualTo(RollbackResult.Outcome.ROLLED_BACK);
        assertThat(DB.state(TABLES)).isEqualTo(before);
        assertThat(DB.status("m1")).isEqualTo("rolled_back");
        assertThat(DB.count("select count(*) from etl_rollback.changes where migration_id = 'rollback:m1'"))
                .isEqualTo(result.rowsRestored());
    }

    @Test
    void adminWhoseSessionsStartWithTriggersOffAndMayNotSwitchThemOnIsRefused() throws SQLException {
        assumeTrue(DB.count("select current_setting('server_version_num')::int") >= 160000,
                "before PostgreSQL 16, a superuser-only setting of a role does not apply to a role that is not superuser");
        migrate();
        Map<String, String> afterM1 = DB.state(TABLES);
        DB.sql("alter role " + admin.user() + " set session_replication_role = replica");
        try {
            Scenario.assertFailed(() -> Reverser.using(admin.dataSource()).rollback("m1"))
                    .hasMessageContaining("session_replication_role = replica")
                    .hasMessageContaining("Nothing was changed");
        } finally {
            DB.sql("alter role " + admin.user() + " reset session_replication_role");
        }
        assertThat(DB.state(TABLES)).isEqualTo(afterM1);
        assertThat(DB.status("m1")).isEqualTo("active");
    }

    @Test
    void adminFromWhomRowLevelSecurityHidesRowsIsRefusedRatherThanMisledByTheirAbsence(@TempDir Path dir)
            throws Exception {
        Path script = dir.resolve("rollback.sql");
        DB.sql("""
                alter table shop.customers enable row level security;
                create policy every_row on shop.customers to %1$s using (true);
                create policy first_ten on shop.customers to %2$s using (id <= 10);
                """.formatted(application.user(), admin.user()));
        migrate();
        Map<String, String> afterMigration = DB.state(TABLES);

        // the admin cannot see customer 100, which m1 inserted: to it, the row would look deleted since
        Scenario.assertFailed(() -> Reverser.using(admin.dataSource()).rollback("m1"))
                .hasMessageContaining("row-level security")
                .hasMessageContaining("customers")
                .hasMessageContaining("Nothing was changed");
        assertThat(DB.state(TABLES)).isEqualTo(afterMigration);
        assertThat(DB.status("m1")).isEqualTo("active");

        // nor does the --sql script, planned by a superuser, restore only what the admin running it can see
        DB.reverser().rollback("m1", RollbackOptions.defaults().withDryRun(true).withSqlFile(script));
        try (Connection c = admin.connect(); Statement s = c.createStatement()) {
            assertThatThrownBy(() -> s.execute(Files.readString(script).replace("\\set ON_ERROR_STOP on\n", "")))
                    .hasMessageContaining("row-level security");
        }
        assertThat(DB.state(TABLES)).isEqualTo(afterMigration);
        assertThat(DB.status("m1")).isEqualTo("active");
    }

    @Test
    void applicationRoleMayNotRollBack() throws SQLException {
        migrate();
        Map<String, String> afterMigration = DB.state(TABLES);

        Scenario.assertFailed(() -> Reverser.using(application.dataSource()).rollback("m1"))
                .hasMessageContaining(application.user())
                .hasMessageContaining("etl_rollback_admin")
                .hasMessageContaining("Nothing was changed");
        assertThat(DB.state(TABLES)).isEqualTo(afterMigration);
        assertThat(DB.status("m1")).isEqualTo("active");
        assertThat(DB.migrationExists("rollback:m1")).isFalse();
    }

    @Test
    void adminWithoutRightsOnATableIsToldWhichTable() throws SQLException {
        migrate();
        DB.sql("revoke update, delete on shop.orders from " + admin.user());
        Map<String, String> afterMigration = DB.state(TABLES);

        Scenario.assertFailed(() -> Reverser.using(admin.dataSource()).rollback("m1"))
                .hasMessageContaining("permission denied for table orders")
                .hasMessageContaining("Nothing was changed");
        assertThat(DB.state(TABLES)).isEqualTo(afterMigration);
        assertThat(DB.status("m1")).isEqualTo("active");
    }

    @Test
    void adminWithoutRightsOnASequenceRollsBackAndLeavesTheSequenceAsItIs() throws SQLException {
        DB.sql("""
                create table shop.events (id serial primary key, body text);
                insert into shop.events (body) select 'e' || g from generate_series(1, 5) g;
                select etl_rollback.track('shop.events');
                grant select, insert, update, delete, truncate on shop.events to %s;
                """.formatted(admin.user()));
        String before = DB.rows("shop.events");
        DB.tagged("m1", "truncate shop.events restart identity");

        RollbackResult result = Reverser.using(admin.dataSource()).rollback("m1");

        assertThat(result.outcome()).isEqualTo(RollbackResult.Outcome.ROLLED_BACK);
        assertThat(DB.rows("shop.events")).isEqualTo(before);
        assertThat(DB.text("select last_value || ' ' || is_called from shop.events_id_seq")).isEqualTo("1 false");
    }
}
