package org.etlrollback.internal.plan;

import java.util.List;
import org.etlrollback.TableRollback;
import org.etlrollback.internal.changelog.LoggedColumn;
import org.etlrollback.internal.changelog.LoggedTable;
import org.jooq.Name;

/**
 * The part of a plan that concerns one table. The rows themselves stay in the server, in a (usually temporary) table
 * with one row per key the migration touched: its before-image ({@code b<N>}), whether the row is present now, its
 * state ({@code done}, {@code ok}, {@code conflict}) and the action that restores it ({@code D}elete,
 * {@code U}pdate, {@code I}nsert, or {@code -}).
 *
 * <p>{@code identitiesToRestore} are the GENERATED ALWAYS identity columns outside the key whose old values the
 * updates must write: the restore makes them BY DEFAULT for the time of its updates.
 */
public record TablePlan(LoggedTable table, Name planTable, long deletes, long updates, long inserts,
                        long unchanged, long conflicts, long forcedDeletes, long forcedUpdates, long forcedInserts,
                        List<LoggedColumn> identitiesToRestore) {

    public TablePlan {
        identitiesToRestore = List.copyOf(identitiesToRestore);
    }

    /** Whether restoring a row's before-image writes the column (generated columns are recomputed). */
    public boolean restores(LoggedColumn c) {
        return c.isWritable() && (!c.identityAlways() || identitiesToRestore.contains(c));
    }

    /** What the rollback does to this table when conflicting rows are restored too ({@code force}) or not. */
    public TableRollback outcome(boolean restoreConflicts) {
        if (restoreConflicts) {
            return new TableRollback(table.qualifiedName(), deletes + forcedDeletes, updates + forcedUpdates,
                    inserts + forcedInserts, unchanged, conflicts);
        }
        return new TableRollback(table.qualifiedName(), deletes, updates, inserts, unchanged, conflicts);
    }

    public long rows(boolean restoreConflicts) {
        return outcome(restoreConflicts).rowsRestored();
    }
}
