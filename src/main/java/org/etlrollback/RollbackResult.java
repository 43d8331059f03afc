package org.etlrollback;

import java.time.Duration;
import java.util.List;

/**
 * The outcome of a rollback, a dry run, or a refused rollback.
 *
 * @param migrationId   the migration rolled back
 * @param rollbackId    the migration id its rollback was logged under, e.g. {@code rollback:X}; empty for a dry run
 * @param outcome       what happened
 * @param tables        per table, what was (or would be) done
 * @param conflicts     the conflicting rows (all of them, or the first {@link #CONFLICTS_LISTED})
 * @param conflictCount how many rows were in conflict
 * @param cascaded      later migrations rolled back first under {@link ConflictPolicy#CASCADE}, newest first
 * @param method        how the rows were restored
 * @param verified      whether every touched row was checked against its before-image before commit
 * @param warnings      what the rolled back migrations changed that no rollback restores, one sentence each: rows
 *                      of tables that are not tracked, changed by the foreign-key actions their changes fired
 * @param duration      wall time
 */
public record RollbackResult(String migrationId, String rollbackId, Outcome outcome, List<TableRollback> tables,
                             List<Conflict> conflicts, long conflictCount, List<String> cascaded, Method method,
                             boolean verified, List<String> warnings, Duration duration) {

    /** At most this many conflicts are listed in a result; {@link #conflictCount()} counts them all. */
    public static final int CONFLICTS_LISTED = 1000;

    public enum Outcome {
        /** Every change of the migration (or after the checkpoint) is undone. */
        ROLLED_BACK,
        /** Some rows were left because of conflicts ({@code skip}), or only changes after a checkpoint were undone. */
        PARTIALLY_ROLLED_BACK,
        /** The migration was already rolled back: nothing to do. */
        ALREADY_ROLLED_BACK,
        /** Nothing was changed: the plan only. */
        DRY_RUN,
        /** Refused because of conflicts: nothing was changed. */
        REFUSED
    }

    /** How a rollback restored the rows. */
    public enum Method {
        /** No row was restored: a dry run, a refused rollback, or one already done. */
        NONE,
        /**
         * Each row was changed by one statement of the migration, so its log row was its plan: the rows were
         * restored set-based straight from the log.
         */
        FROM_LOG,
        /** The log was first consolidated per row into a plan, compared with the live rows, then restored set-based. */
        PLANNED,
        /** No set-based order satisfied the constraints: the inverse of each statement was replayed, newest first. */
        REPLAYED
    }

    public RollbackResult {
        tables = List.copyOf(tables);
        conflicts = List.copyOf(conflicts);
        cascaded = List.copyOf(cascaded);
        warnings = List.copyOf(warnings);
    }

    /** Whether no set-based order existed and the inverse statements were replayed one by one. */
    public boolean replayed() {
        return method == Method.REPLAYED;
    }

    /** Rows written, over all tables. */
    public long rowsRestored() {
        return tables.stream().mapToLong(TableRollback::rowsRestored).sum();
    }
}
