package org.etlrollback.transform;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.etlrollback.transform.ScriptedTransformer.execute;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;

import org.etlrollback.CrossDatabaseResult;
import org.etlrollback.CrossDatabaseRollback;
import org.etlrollback.TableState;
import org.etlrollback.TestDatabase;
import org.etlrollback.transform.MigrationFailure.AutoRollback;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class CrossDatabaseTransformerIT {
    private static final TestDatabase CLINIC = TestDatabase.forClass(CrossDatabaseTransformerIT.class);
    private static final TestDatabase BILLING = TestDatabase.forClass(CrossDatabaseTransformerIT.class);

    /** Loads patients into the clinic database and their accounts into the billing database. */
    static final class PatientAndBillingTransformer extends Transformer {
        private final DataSource billing;

        PatientAndBillingTransformer(DataSource clinic, DataSource billing, String migrationId) {
            super(clinic, RollbackConfig.defaults(), migrationId);
            this.billing = billing;
        }

        @Override
        protected List<String> affectedTables() {
            return List.of("app.patients");
        }

        @Override
        protected void run(Connection clinic) throws Exception {
            execute(clinic, "insert into app.patients values (10, 'Grace')");
            try (Connection accounts = billing.getConnection()) {
                tag(accounts);
                try {
                    execute(accounts, "insert into app.accounts values (10, 0)");
                    execute(accounts, "update app.accounts set balance = balance - 5 where id = 1");
                } finally {
                    untag(accounts);
                }
            }
            throw new IllegalStateException("the billing export file is truncated");
        }
    }

    @BeforeEach
    void schema() throws SQLException {
        sql(CLINIC, """
                delete from etl_rollback.statement; delete from etl_rollback.migration;
                drop schema if exists app cascade; create schema app;
                create table app.patients(id int primary key, name text);
                insert into app.patients values (1, 'Ada');
                select etl_rollback.track('app.patients');
                """);
        sql(BILLING, """
                delete from etl_rollback.statement; delete from etl_rollback.migration;
                drop schema if exists app cascade; create schema app;
                create table app.accounts(id int primary key, balance numeric);
                insert into app.accounts values (1, 100);
                select etl_rollback.track('app.accounts');
                """);
    }

    @Test
    void migrationOverTwoDatabasesIsRolledBackAsOneUnit() {
        assumeTrue((Integer) CLINIC.dsl().fetchValue("select current_setting('max_prepared_transactions')::int") > 0,
                "the test server does not allow prepared transactions (max_prepared_transactions = 0)");
        Map<String, String> clinicBefore = TableState.of(CLINIC.dsl(), "app.patients");
        Map<String, String> billingBefore = TableState.of(BILLING.dsl(), "app.accounts");
        PatientAndBillingTransformer transformer = new PatientAndBillingTransformer(CLINIC.dataSource(),
                BILLING.dataSource(), "patients_and_billing_1");

        assertThatThrownBy(() -> transformer.safeRun(false)).isInstanceOfSatisfying(MigrationFailedException.class,
                e -> assertThat(e.failure().autoRollback()).isEqualTo(AutoRollback.DISABLED));
        assertThat(BILLING.dsl().fetchValue("select count(*) from etl_rollback.changes"
                + " where migration_id = 'patients_and_billing_1'")).isEqualTo(2L);

        CrossDatabaseResult result = CrossDatabaseRollback.configure()
                .database("clinic", CLINIC.dataSource())
                .database("billing", BILLING.dataSource())
                .load()
                .rollback(transformer.migrationId());

        assertThat(result.committed()).containsExactly("clinic", "billing");
        assertThat(TableState.of(CLINIC.dsl(), "app.patients")).isEqualTo(clinicBefore);
        assertThat(TableState.of(BILLING.dsl(), "app.accounts")).isEqualTo(billingBefore);
    }

    private static void sql(TestDatabase db, String statements) throws SQLException {
        try (Connection c = db.connect(); Statement s = c.createStatement()) {
            s.execute(statements);
        }
    }
}
