package org.etlrollback.transform;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * A migration's log in an archive file, as {@link MigrationArchive} wrote or read it.
 *
 * @param migrationId the migration
 * @param file        the archive file
 * @param tables      the tables the migration changed
 * @param statements  its logged statements
 * @param checkpoints its checkpoints
 * @param rows        its log rows (row changes)
 */
public record ArchivedMigration(String migrationId, Path file, List<String> tables, long statements,
                                long checkpoints, long rows) {
    public ArchivedMigration {
        Objects.requireNonNull(migrationId, "migrationId");
        Objects.requireNonNull(file, "file");
        tables = List.copyOf(tables);
    }
}
