package org.etlrollback;

import java.time.OffsetDateTime;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * One migration as {@link EtlRollback#list()} lists it: a row of the view {@code etl_rollback.migrations}.
 *
 * @param migrationId  the id its changes were made under
 * @param name         the descriptive name the session set in {@code etl_rollback.migration_name}, if any
 * @param status       whether it is in force or rolled back
 * @param startedAt    when its first change or checkpoint was logged
 * @param lastChangeAt when its last change was logged; empty when it logged checkpoints only
 * @param tables       the tables it changed, schema-qualified, sorted
 * @param rowChanges   how many row changes it logged
 */
public record MigrationSummary(String migrationId, Optional<String> name, Status status, OffsetDateTime startedAt,
                               Optional<OffsetDateTime> lastChangeAt, List<String> tables, long rowChanges) {

    public MigrationSummary {
        Objects.requireNonNull(migrationId, "migrationId");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(startedAt, "startedAt");
        Objects.requireNonNull(lastChangeAt, "lastChangeAt");
        tables = List.copyOf(tables);
    }

    /** The status of a migration, as {@code etl_rollback.migrations.status} names it ({@link #label()}). */
    public enum Status {
        /** In force: not rolled back, or its rollback was undone. */
        ACTIVE,
        /** Every change is undone. */
        ROLLED_BACK,
        /** Only the changes after a checkpoint are undone, or conflicting rows were skipped. */
        PARTIALLY_ROLLED_BACK;

        /** {@code active}, {@code rolled_back} or {@code partially_rolled_back}. */
        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** The status named as in the database. */
        public static Status of(String label) {
            for (Status status : values()) {
                if (status.label().equals(label)) {
                    return status;
                }
            }
            throw new EtlRollbackException(ErrorCode.FAILED, "unknown migration status '" + label
                    + "': this etl-rollback is older than the schema it reads; use the version that installed it");
        }
    }
}
