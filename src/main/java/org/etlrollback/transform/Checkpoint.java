package org.etlrollback.transform;

import java.util.Objects;

/**
 * A named point of a running migration, set by {@link Transformer#createCheckpoint(String)}:
 * {@link Transformer#rollbackToCheckpoint(Checkpoint)} undoes only what the migration changed after it.
 *
 * @param migrationId the migration it belongs to
 * @param name        its name, unique within the migration
 */
public record Checkpoint(String migrationId, String name) {
    public Checkpoint {
        Objects.requireNonNull(migrationId, "migrationId");
        Objects.requireNonNull(name, "name");
    }
}
