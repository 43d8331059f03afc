package org.etlrollback.internal.plan;

import java.util.List;
import org.etlrollback.Conflict;
import org.etlrollback.internal.changelog.LoggedMigration;

/**
 * An immutable plan to roll back one migration's changes in the window {@code (fromSeq, uptoSeq]}: per table,
 * in an order that satisfies foreign keys (parents first), what to delete, update and insert, and the conflicts.
 * The same plan is printed by a dry run, written as SQL, executed and verified.
 */
public record RollbackPlan(LoggedMigration migration, long fromSeq, long uptoSeq, List<TablePlan> tables,
                           List<Conflict> conflicts, long conflictCount) {

    public RollbackPlan {
        tables = List.copyOf(tables);
        conflicts = List.copyOf(conflicts);
    }

    public boolean hasConflicts() {
        return conflictCount > 0;
    }

    /** The plan's tables children first: the order for deletes. */
    public List<TablePlan> childrenFirst() {
        List<TablePlan> reversed = new java.util.ArrayList<>(tables);
        java.util.Collections.reverse(reversed);
        return List.copyOf(reversed);
    }

    public long rows(boolean restoreConflicts) {
        return tables.stream().mapToLong(t -> t.rows(restoreConflicts)).sum();
    }
}
