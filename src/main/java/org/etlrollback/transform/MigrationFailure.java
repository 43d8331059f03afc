package org.etlrollback.transform;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import org.etlrollback.RollbackResult;

/**
 * A failed run of a transformer and what its automatic rollback did: what listeners are told, and what a
 * {@link MigrationFailedException} carries.
 *
 * @param transformer     the transformer's name
 * @param migrationId     the migration id its changes were logged under
 * @param startedAt       when the run started
 * @param duration        how long it ran until it failed
 * @param error           what {@code run} threw: the original exception, unchanged
 * @param autoRollback    what became of the migration's changes
 * @param rollback        the automatic rollback's result, when it ran
 * @param rollbackFailure why the automatic rollback failed, when it did
 */
public record MigrationFailure(String transformer, String migrationId, Instant startedAt, Duration duration,
                               Throwable error, AutoRollback autoRollback, Optional<RollbackResult> rollback,
                               Optional<RuntimeException> rollbackFailure) {

    public MigrationFailure {
        Objects.requireNonNull(transformer, "transformer");
        Objects.requireNonNull(migrationId, "migrationId");
        Objects.requireNonNull(startedAt, "startedAt");
        Objects.requireNonNull(duration, "duration");
        Objects.requireNonNull(error, "error");
        Objects.requireNonNull(autoRollback, "autoRollback");
        Objects.requireNonNull(rollback, "rollback");
        Objects.requireNonNull(rollbackFailure, "rollbackFailure");
    }

    /** What the automatic rollback of a failed run did. */
    public enum AutoRollback {
        /** The migration's changes were rolled back; {@link #rollback()} says how (fully, or partly on conflicts). */
        ROLLED_BACK,
        /** The run had logged no change: there was nothing to roll back. */
        NOTHING_TO_ROLL_BACK,
        /** The rollback was attempted and failed; the changes are in place. See {@link #rollbackFailure()}. */
        FAILED,
        /** Automatic rollback was off for the run, or by configuration; the changes are in place, and logged. */
        DISABLED,
        /** Rollback is disabled by configuration ({@code enabled=false}): the changes were not even logged. */
        NOT_LOGGED
    }

    /** Whether a rollback was attempted, successful or not. */
    public boolean rollbackAttempted() {
        return autoRollback == AutoRollback.ROLLED_BACK || autoRollback == AutoRollback.FAILED;
    }
}
