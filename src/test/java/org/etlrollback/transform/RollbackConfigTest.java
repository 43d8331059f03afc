package org.etlrollback.transform;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.assertj.core.api.AbstractThrowableAssert;
import org.etlrollback.ConflictPolicy;
import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollbackException;
import org.etlrollback.RollbackOptions;
import org.etlrollback.transform.RollbackConfig.ArchiveCompression;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RollbackConfigTest {
    private static final String SOURCE = "test.properties";

    @Test
    void nothingGivenMeansTheDefaults() {
        RollbackConfig config = RollbackConfig.of(Map.of(), SOURCE, Map.of());
        assertThat(config).isEqualTo(RollbackConfig.defaults());
        assertThat(config.enabled()).isTrue();
        assertThat(config.autoRollback()).isTrue();
        assertThat(config.verify()).isTrue();
        assertThat(config.onConflict()).isEqualTo(ConflictPolicy.ABORT);
        assertThat(config.keepDays()).isEqualTo(30);
        assertThat(config.archiveDirectory()).isEmpty();
        assertThat(config.archiveCompression()).isEqualTo(ArchiveCompression.GZIP);
    }

    @Test
    void everyKeyIsRead() {
        RollbackConfig config = RollbackConfig.of(Map.of(
                "enabled", "false",
                "auto-rollback", "FALSE",
                "verify", "false",
                "on-conflict", "skip",
                "lock-timeout", "1500ms",
                "slow-rollback-warning", "PT2M",
                "track-tables", "true",
                "keep-days", "7",
                "archive.directory", "/var/lib/etl/archive",
                "archive.compression", "none"), SOURCE, Map.of());

        assertThat(config).isEqualTo(new RollbackConfig(false, false, false, ConflictPolicy.SKIP,
                Duration.ofMillis(1500), Duration.ofMinutes(2), true, 7, Optional.of(Path.of("/var/lib/etl/archive")),
                ArchiveCompression.NONE));
    }

    @Test
    void environmentOverridesTheFile() {
        RollbackConfig config = RollbackConfig.of(Map.of("auto-rollback", "true", "keep-days", "7"), SOURCE,
                Map.of("ETL_ROLLBACK_AUTO_ROLLBACK", "false", "ETL_ROLLBACK_ARCHIVE_DIRECTORY", "/archive",
                        "ETL_ROLLBACK_KEEP_DAYS", "", "ETL_ROLLBACK_URL", "jdbc:postgresql://db/etl"));

        assertThat(config.autoRollback()).isFalse();
        assertThat(config.archiveDirectory()).contains(Path.of("/archive"));
        assertThat(config.keepDays()).as("an empty variable does not override").isEqualTo(7);
    }

    @Test
    void environmentVariablesAreTheKeysInUpperCase() {
        assertThat(RollbackConfig.environmentVariable("auto-rollback")).isEqualTo("ETL_ROLLBACK_AUTO_ROLLBACK");
        assertThat(RollbackConfig.environmentVariable("archive.directory")).isEqualTo("ETL_ROLLBACK_ARCHIVE_DIRECTORY");
    }

    @Test
    void unknownKeyIsNamedWithTheKeyItWasProbablyMeantToBe() {
        assertUsage(Map.of("auto_rollback", "true"), Map.of())
                .hasMessageContaining("unknown key 'auto_rollback' in test.properties")
                .hasMessageContaining("did you mean auto-rollback?")
                .hasMessageContaining("archive.compression");
        assertUsage(Map.of("colour", "blue"), Map.of())
                .hasMessageContaining("unknown key 'colour'")
                .hasMessageNotContaining("did you mean");
    }

    @Test
    void badValuesNameTheKeyWhereItCameFromAndWhatToWrite() {
        assertUsage(Map.of("auto-rollback", "yes"), Map.of())
                .hasMessageContaining("auto-rollback = 'yes' in test.properties is not a boolean: write true or false");
        assertUsage(Map.of(), Map.of("ETL_ROLLBACK_KEEP_DAYS", "-1"))
                .hasMessageContaining("keep-days = '-1' from environment variable ETL_ROLLBACK_KEEP_DAYS")
                .hasMessageContaining("0 or more");
        assertUsage(Map.of("on-conflict", "merge"), Map.of())
                .hasMessageContaining("on-conflict = 'merge'").hasMessageContaining("abort, skip, cascade or force");
        assertUsage(Map.of("lock-timeout", "0s"), Map.of())
                .hasMessageContaining("lock-timeout = '0s'").hasMessageContaining("positive duration");
        assertUsage(Map.of("slow-rollback-warning", "soon"), Map.of())
                .hasMessageContaining("slow-rollback-warning = 'soon'").hasMessageContaining("10s, 5m");
        assertUsage(Map.of("archive.compression", "zip"), Map.of())
                .hasMessageContaining("archive.compression = 'zip'").hasMessageContaining("gzip or none");
    }

    @Test
    void archiveDirectoryThatIsAFileIsRefused(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("not-a-directory"), "");
        assertUsage(Map.of("archive.directory", file.toString()), Map.of())
                .hasMessageContaining("archive.directory = '" + file + "'").hasMessageContaining("not a directory");
    }

    @Test
    void fileIsReadFromAPath(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("etl-rollback.properties"), """
                # rollbacks of the nightly load
                auto-rollback = false
                keep-days = 90
                """);
        RollbackConfig config = RollbackConfig.load(file, Map.of("ETL_ROLLBACK_KEEP_DAYS", "60"));
        assertThat(config.autoRollback()).isFalse();
        assertThat(config.keepDays()).isEqualTo(60);
        assertThat(config.verify()).isTrue();
    }

    @Test
    void missingFileIsAUsageError(@TempDir Path dir) {
        Path missing = dir.resolve("nope.properties");
        assertThatThrownBy(() -> RollbackConfig.load(missing))
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.USAGE))
                .hasMessageContaining(missing.toString()).hasMessageContaining("does not exist");
    }

    @Test
    void rollbackOptionsFollowTheConfiguration() {
        RollbackOptions options = RollbackConfig.defaults().withVerify(false).withOnConflict(ConflictPolicy.SKIP)
                .withLockTimeout(Duration.ofSeconds(3)).rollbackOptions();
        assertThat(options.verify()).isFalse();
        assertThat(options.onConflict()).isEqualTo(ConflictPolicy.SKIP);
        assertThat(options.lockTimeout()).isEqualTo(Duration.ofSeconds(3));
        assertThat(options.dryRun()).isFalse();
    }

    @Test
    void programmaticValuesAreValidatedToo() {
        assertThatThrownBy(() -> RollbackConfig.defaults().withKeepDays(-5))
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.USAGE))
                .hasMessageContaining("keep-days");
    }

    private static AbstractThrowableAssert<?, ? extends Throwable> assertUsage(Map<String, String> file,
                                                                               Map<String, String> environment) {
        return assertThatThrownBy(() -> RollbackConfig.of(file, SOURCE, environment))
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.USAGE));
    }
}
