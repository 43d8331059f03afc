package org.etlrollback;

/**
 * Receives progress of a long rollback: rows done of rows planned, after each step.
 */
@FunctionalInterface
public interface RollbackProgress {
    /**
     * @param step     what was just done, e.g. {@code "delete public.orders"}
     * @param rowsDone rows restored so far
     * @param rowsPlanned rows the plan restores in all
     */
    void update(String step, long rowsDone, long rowsPlanned);

    /** Ignores every update. */
    RollbackProgress NONE = (step, done, planned) -> { };
}
