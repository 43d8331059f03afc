package org.etlrollback.transform;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * One run of a transformer: what {@link Transformer#safeRun()} returns, and what listeners are told when it starts
 * (with a zero duration) and completes.
 *
 * @param transformer the transformer's name, also the migration's name in the log
 * @param migrationId the migration id its changes were logged under
 * @param startedAt   when the run started
 * @param duration    how long it ran
 */
public record MigrationRun(String transformer, String migrationId, Instant startedAt, Duration duration) {
    public MigrationRun {
        Objects.requireNonNull(transformer, "transformer");
        Objects.requireNonNull(migrationId, "migrationId");
        Objects.requireNonNull(startedAt, "startedAt");
        Objects.requireNonNull(duration, "duration");
    }
}
