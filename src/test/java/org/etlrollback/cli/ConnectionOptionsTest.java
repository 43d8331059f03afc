package org.etlrollback.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollbackException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ConnectionOptionsTest {
    private static final Map<String, String> ETL_ENV = Map.of(
            "ETL_ROLLBACK_URL", "jdbc:postgresql://etl-host:5433/etl_db",
            "ETL_ROLLBACK_USER", "etl_user",
            "ETL_ROLLBACK_PASSWORD", "etl-secret");
    private static final Map<String, String> PG_ENV = Map.of(
            "PGHOST", "pg-host", "PGPORT", "5434", "PGDATABASE", "pg_db", "PGUSER", "pg_user", "PGPASSWORD", "pg-secret");

    @TempDir
    Path dir;

    private static ConnectionOptions.Settings resolve(Map<String, String> env, String... args) {
        Main main = new Main(env);
        new CommandLine(main).parseArgs(args);
        return main.connection.resolve(env);
    }

    private static Map<String, String> both() {
        var env = new java.util.HashMap<>(ETL_ENV);
        env.putAll(PG_ENV);
        return env;
    }

    @Test
    void optionsWinOverEveryEnvironmentVariable() {
        var settings = resolve(both(), "--url", "jdbc:postgresql://opt-host/opt_db", "--user", "opt_user",
                "--password", "opt-secret", "install");
        assertThat(settings.url()).isEqualTo("jdbc:postgresql://opt-host/opt_db");
        assertThat(settings.user()).isEqualTo("opt_user");
        assertThat(settings.password()).isEqualTo("opt-secret");
    }

    @Test
    void optionsMayFollowTheCommand() {
        var settings = resolve(Map.of(), "install", "--url", "jdbc:postgresql://opt-host/opt_db", "--user", "opt_user");
        assertThat(settings.url()).isEqualTo("jdbc:postgresql://opt-host/opt_db");
        assertThat(settings.user()).isEqualTo("opt_user");
    }

    @Test
    void etlRollbackVariablesWinOverLibpqVariables() {
        var settings = resolve(both(), "install");
        assertThat(settings.url()).isEqualTo("jdbc:postgresql://etl-host:5433/etl_db");
        assertThat(settings.user()).isEqualTo("etl_user");
        assertThat(settings.password()).isEqualTo("etl-secret");
    }

    @Test
    void libpqVariablesMakeTheUrlWhenNothingElseIsGiven() {
        var settings = resolve(PG_ENV, "install");
        assertThat(settings.url()).isEqualTo("jdbc:postgresql://pg-host:5434/pg_db");
        assertThat(settings.user()).isEqualTo("pg_user");
        assertThat(settings.password()).isEqualTo("pg-secret");
    }

    @Test
    void eachSettingIsTakenFromTheFirstPlaceThatHasIt() {
        var settings = resolve(PG_ENV, "--url", "jdbc:postgresql://opt-host/opt_db", "install");
        assertThat(settings.url()).isEqualTo("jdbc:postgresql://opt-host/opt_db");
        assertThat(settings.user()).isEqualTo("pg_user");
        assertThat(settings.password()).isEqualTo("pg-secret");
    }

    @Test
    void emptyVariablesCountAsUnset() {
        var settings = resolve(Map.of("ETL_ROLLBACK_URL", "", "ETL_ROLLBACK_USER", "", "PGDATABASE", "shop",
                "PGUSER", "pg_user"), "install");
        assertThat(settings.url()).isEqualTo("jdbc:postgresql://localhost:5432/shop");
        assertThat(settings.user()).isEqualTo("pg_user");
    }

    @Test
    void libpqDefaultsFillTheGapsAsLibpqDoes() {
        assertThat(ConnectionOptions.libpqUrl(Map.of("PGHOST", "db"), "anna"))
                .isEqualTo("jdbc:postgresql://db:5432/anna");
        assertThat(ConnectionOptions.libpqUrl(Map.of("PGPORT", "6000", "PGDATABASE", "shop"), "anna"))
                .isEqualTo("jdbc:postgresql://localhost:6000/shop");
        assertThat(ConnectionOptions.libpqUrl(Map.of("PGHOST", "/var/run/postgresql", "PGDATABASE", "shop"), null))
                .isEqualTo("jdbc:postgresql://localhost:5432/shop");
        assertThat(ConnectionOptions.libpqUrl(Map.of("PGHOST", "a,b", "PGPORT", "5001,5002", "PGDATABASE", "x"), null))
                .isEqualTo("jdbc:postgresql://a:5001,b:5002/x");
        assertThat(ConnectionOptions.libpqUrl(Map.of("PGHOST", "::1", "PGDATABASE", "x"), null))
                .isEqualTo("jdbc:postgresql://[::1]:5432/x");
        assertThat(ConnectionOptions.libpqUrl(Map.of("PGUSER", "anna"), "anna")).isNull();
    }

    @Test
    void passwordFileGivesItsFirstLine() throws IOException {
        Path file = Files.writeString(dir.resolve("pw"), "file-secret\nsecond line\n");
        var settings = resolve(both(), "--password-file", file.toString(), "install");
        assertThat(settings.password()).isEqualTo("file-secret");
    }

    @Test
    void passwordAndPasswordFileTogetherAreAUsageError() throws IOException {
        Path file = Files.writeString(dir.resolve("pw"), "file-secret\n");
        assertThatThrownBy(() -> resolve(Map.of(), "--password", "x", "--password-file", file.toString(), "install"))
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.USAGE))
                .hasMessageContaining("either --password or --password-file");
    }

    @Test
    void unreadableOrEmptyPasswordFileIsAUsageErrorNamingTheFile() throws IOException {
        Path missing = dir.resolve("missing");
        assertThatThrownBy(() -> resolve(ETL_ENV, "--password-file", missing.toString(), "install"))
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.USAGE))
                .hasMessageContaining(missing.toString());
        Path empty = Files.writeString(dir.resolve("empty"), "");
        assertThatThrownBy(() -> resolve(ETL_ENV, "--password-file", empty.toString(), "install"))
                .hasMessageContaining("is empty");
    }

    @Test
    void noDatabaseAnywhereIsAUsageErrorSayingWhereToGiveOne() {
        assertThatThrownBy(() -> resolve(Map.of("PGUSER", "u", "PGPASSWORD", "p"), "install"))
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.USAGE))
                .hasMessageContaining("--url")
                .hasMessageContaining("ETL_ROLLBACK_URL")
                .hasMessageContaining("PGHOST");
    }

    @Test
    void settingsPrintWithoutThePassword() {
        var settings = resolve(Map.of(), "--url", "jdbc:postgresql://h/d?password=in-url-secret", "--password",
                "opt-secret", "install");
        assertThat(settings.toString()).doesNotContain("opt-secret").doesNotContain("in-url-secret");
    }
}
