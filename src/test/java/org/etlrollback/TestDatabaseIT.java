package org.etlrollback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;

import org.junit.jupiter.api.Test;

class TestDatabaseIT {
    private static final TestDatabase DB = TestDatabase.forClass(TestDatabaseIT.class);

    @Test
    void cloneHasEtlRollbackInstalledAndNothingTracked() throws IOException {
        assertThat(DB.dsl().fetchValue("SELECT count(*) FROM etl_rollback.flyway_schema_history WHERE success AND type = 'SQL'"))
                .isEqualTo(TestDatabase.installScripts());
        assertThat(DB.dsl().fetchValue("SELECT count(*) FROM etl_rollback.tracked_tables")).isEqualTo(0L);
        assertThat(DB.dsl().fetchValue("SELECT current_database()")).isEqualTo(DB.name());
    }

    @Test
    void everyCallGivesAnotherDatabase() {
        TestDatabase other = TestDatabase.forClass(TestDatabaseIT.class);
        assertThat(other.name()).isNotEqualTo(DB.name());
        DB.dsl().execute("CREATE TABLE only_in_first (id int PRIMARY KEY)");
        assertThat(other.dsl().fetchValue("SELECT to_regclass('only_in_first')")).isNull();
    }

    @Test
    void serverChecksPasswords() throws SQLException {
        TestDatabase.Login login = DB.createLogin("checked");
        try (Connection c = login.connect()) {
            assertThat(DB.dsl().fetchValue("SELECT 1")).isEqualTo(1);
            assertThat(c.getMetaData().getUserName()).isEqualTo(login.user());
        }
        assertThatThrownBy(() -> DriverManager.getConnection(DB.url(), login.user(), "not-" + login.password()))
                .isInstanceOf(SQLException.class)
                .hasMessageContaining("password authentication failed");
    }
}
