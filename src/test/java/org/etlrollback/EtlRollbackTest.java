package org.etlrollback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/** The facade's configuration is checked once, by load(), before any connection is made. */
class EtlRollbackTest {

    private static void assertUsageError(Runnable action, String... messageParts) {
        assertThatThrownBy(action::run)
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.USAGE))
                .satisfies(e -> assertThat(e.getMessage()).contains(messageParts));
    }

    @Test
    void aDatabaseMustBeConfigured() {
        assertUsageError(() -> EtlRollback.configure().load(), "no database configured", "dataSource(", "url(");
    }

    @Test
    void aDataSourceAndAUrlTogetherAreRefused() {
        assertUsageError(() -> EtlRollback.configure().dataSource(new PGSimpleDataSource())
                .url("jdbc:postgresql://localhost/shop").load(), "either a data source or a URL");
    }

    @Test
    void onlyPostgresqlUrlsAreAcceptedAndTheirPasswordIsNotRepeated() {
        assertUsageError(() -> EtlRollback.configure().url("jdbc:mysql://localhost/shop?password=Secret-1").load(),
                "not a PostgreSQL JDBC URL", "jdbc:postgresql://HOST:PORT/DATABASE");
        assertThatThrownBy(() -> EtlRollback.configure().url("jdbc:mysql://localhost/shop?password=Secret-1").load())
                .message().doesNotContain("Secret-1");
    }

    @Test
    void anInstanceNamesItsDatabaseWithoutThePassword() {
        EtlRollback etlRollback = EtlRollback.configure().url("jdbc:postgresql://db.example:5433/shop?password=Secret-2")
                .user("etl").password("Secret-3").load();
        assertThat(etlRollback.toString()).contains("jdbc:postgresql://db.example:5433/shop", "etl")
                .doesNotContain("Secret-2").doesNotContain("Secret-3");
    }

    @Test
    void trackingNeedsTableNames() {
        EtlRollback etlRollback = EtlRollback.configure().url("jdbc:postgresql://localhost:1/shop").load();
        assertUsageError(etlRollback::track, "at least one table");
        assertUsageError(() -> etlRollback.untrack("public.a", " "), "empty");
    }
}
