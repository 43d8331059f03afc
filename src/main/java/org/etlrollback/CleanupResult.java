package org.etlrollback;

import java.time.OffsetDateTime;
import java.util.List;
import java.util.Objects;

/**
 * What {@link EtlRollback#cleanup(java.time.Duration, boolean)} deleted, or in a dry run would delete.
 *
 * @param cutoff     migrations whose last activity (logged change or checkpoint) came before this time are old
 * @param dryRun     whether nothing was deleted
 * @param deleted    the old migrations whose logs are (or would be) deleted, oldest first
 * @param kept       the old migrations that are kept, and why, oldest first
 */
public record CleanupResult(OffsetDateTime cutoff, boolean dryRun, List<Deleted> deleted, List<Kept> kept) {

    public CleanupResult {
        Objects.requireNonNull(cutoff, "cutoff");
        deleted = List.copyOf(deleted);
        kept = List.copyOf(kept);
    }

    /** Log rows deleted (or that would be), over all migrations. */
    public long logRows() {
        return deleted.stream().mapToLong(Deleted::logRows).sum();
    }

    /** The ids of the deleted migrations, oldest first. */
    public List<String> migrationIds() {
        return deleted.stream().map(Deleted::migrationId).toList();
    }

    /**
     * A migration whose log, statements, checkpoints and catalog row are (or would be) deleted. It can no longer be
     * inspected or rolled back.
     *
     * @param migrationId  its id
     * @param lastActivity its last logged change or checkpoint
     * @param logRows      its rows in the log tables
     */
    public record Deleted(String migrationId, OffsetDateTime lastActivity, long logRows) {
    }

    /**
     * An old migration that is kept.
     *
     * @param migrationId  its id
     * @param lastActivity its last logged change or checkpoint
     * @param reason       why, e.g. that an open transaction is still writing it
     */
    public record Kept(String migrationId, OffsetDateTime lastActivity, String reason) {
    }
}
