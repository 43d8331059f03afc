package org.etlrollback;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * How a rollback runs. Immutable; build with {@link #defaults()} and the {@code with...} methods.
 *
 * @param dryRun       plan and report, change nothing
 * @param verify       compare every touched row with its before-image before committing
 * @param onConflict   what to do with rows changed after the migration
 * @param toCheckpoint undo only what the migration changed after this checkpoint
 * @param sqlFile      also write the plan as a SQL script to this file
 * @param lockTimeout  how long to wait, in all, for the table locks
 * @param progress     receives progress updates
 */
public record RollbackOptions(boolean dryRun, boolean verify, ConflictPolicy onConflict,
                              Optional<String> toCheckpoint, Optional<Path> sqlFile, Duration lockTimeout,
                              RollbackProgress progress) {

    public static final Duration DEFAULT_LOCK_TIMEOUT = Duration.ofSeconds(10);
    public static final Duration MAX_LOCK_TIMEOUT = Duration.ofMillis(Integer.MAX_VALUE);

    public RollbackOptions {
        Objects.requireNonNull(onConflict, "onConflict");
        Objects.requireNonNull(toCheckpoint, "toCheckpoint");
        Objects.requireNonNull(sqlFile, "sqlFile");
        Objects.requireNonNull(lockTimeout, "lockTimeout");
        Objects.requireNonNull(progress, "progress");
        if (lockTimeout.isNegative() || lockTimeout.isZero()) {
            throw new EtlRollbackException(ErrorCode.USAGE, "lock timeout must be positive, was " + lockTimeout);
        }
        // PostgreSQL's lock_timeout is an int of milliseconds
        if (lockTimeout.compareTo(MAX_LOCK_TIMEOUT) > 0) {
            throw new EtlRollbackException(ErrorCode.USAGE, "lock timeout must be at most " + MAX_LOCK_TIMEOUT
                    + " (PostgreSQL's limit), was " + lockTimeout);
        }
    }

    /** No dry run, no verification, abort on conflicts, everything, 10 s lock timeout. */
    public static RollbackOptions defaults() {
        return new RollbackOptions(false, false, ConflictPolicy.ABORT, Optional.empty(), Optional.empty(),
                DEFAULT_LOCK_TIMEOUT, RollbackProgress.NONE);
    }

    public RollbackOptions withDryRun(boolean value) {
        return new RollbackOptions(value, verify, onConflict, toCheckpoint, sqlFile, lockTimeout, progress);
    }

    public RollbackOptions withVerify(boolean value) {
        return new RollbackOptions(dryRun, value, onConflict, toCheckpoint, sqlFile, lockTimeout, progress);
    }

    public RollbackOptions withOnConflict(ConflictPolicy value) {
        return new RollbackOptions(dryRun, verify, value, toCheckpoint, sqlFile, lockTimeout, progress);
    }

    public RollbackOptions withToCheckpoint(String value) {
        return new RollbackOptions(dryRun, verify, onConflict, Optional.ofNullable(value), sqlFile, lockTimeout,
                progress);
    }

    public RollbackOptions withSqlFile(Path value) {
        return new RollbackOptions(dryRun, verify, onConflict, toCheckpoint, Optional.ofNullable(value), lockTimeout,
                progress);
    }

    public RollbackOptions withLockTimeout(Duration value) {
        return new RollbackOptions(dryRun, verify, onConflict, toCheckpoint, sqlFile, value, progress);
    }

    public RollbackOptions withProgress(RollbackProgress value) {
        return new RollbackOptions(dryRun, verify, onConflict, toCheckpoint, sqlFile, lockTimeout, value);
    }
}
