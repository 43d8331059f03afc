package org.etlrollback;

import java.time.OffsetDateTime;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One migration as {@link EtlRollback#show(String)} describes it: what it changed per table, its checkpoints, and
 * how much room its log takes.
 *
 * @param summary      the migration as {@link EtlRollback#list()} lists it
 * @param startedBy    the session user that first wrote under its id
 * @param rolledBackAt when it was last rolled back, if it was
 * @param rollbackOf   for a migration {@code rollback:X}: X
 * @param rollbacks    the migrations that rolled it back ({@code rollback:ID}, {@code rollback:ID#2}, ...), oldest
 *                     first
 * @param tables       per table it changed, its row changes and log, by table name
 * @param checkpoints  its checkpoints, in the order they were set
 */
public record MigrationDetail(MigrationSummary summary, String startedBy, Optional<OffsetDateTime> rolledBackAt,
                              Optional<String> rollbackOf, List<String> rollbacks, List<TableChanges> tables,
                              List<Checkpoint> checkpoints) {

    public MigrationDetail {
        Objects.requireNonNull(summary, "summary");
        Objects.requireNonNull(startedBy, "startedBy");
        Objects.requireNonNull(rolledBackAt, "rolledBackAt");
        Objects.requireNonNull(rollbackOf, "rollbackOf");
        rollbacks = List.copyOf(rollbacks);
        tables = List.copyOf(tables);
        checkpoints = List.copyOf(checkpoints);
    }

    public String migrationId() {
        return summary.migrationId();
    }

    /** Bytes of the migration's log rows, over all tables. */
    public long logBytes() {
        return tables.stream().mapToLong(TableChanges::logBytes).sum();
    }

    /**
     * What a migration did to one table, counted in logged rows, and the room its log takes.
     *
     * @param table         the schema-qualified table, as it was named when last tracked
     * @param inserts       rows inserted (also by {@code COPY} and {@code INSERT ... ON CONFLICT})
     * @param updates       rows updated
     * @param deletes       rows deleted
     * @param truncates     rows removed by {@code TRUNCATE}
     * @param logBytes      bytes of this migration's rows in the table's log ({@code pg_column_size} of each row)
     * @param logTableBytes bytes of the whole log table of the table, for all migrations, with its indexes
     */
    public record TableChanges(String table, long inserts, long updates, long deletes, long truncates, long logBytes,
                               long logTableBytes) {
        /** Row changes over the four operations. */
        public long rowChanges() {
            return inserts + updates + deletes + truncates;
        }
    }

    /**
     * A named point of the migration; {@code rollback --to-checkpoint NAME} undoes what came after it.
     *
     * @param name      the name given to {@code etl_rollback.checkpoint(name)}
     * @param seq       its place in the order of changes: changes with a larger seq came after it
     * @param createdAt when it was set
     */
    public record Checkpoint(String name, long seq, OffsetDateTime createdAt) {
    }
}
