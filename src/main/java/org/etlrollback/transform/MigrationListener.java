package org.etlrollback.transform;

import org.etlrollback.RollbackResult;

/**
 * Hears what a {@link Transformer} does, e.g. to send alerts ({@link WebhookNotifier} is one). Register with
 * {@link Transformer#addListener(MigrationListener)}. Every method does nothing by default.
 *
 * <p>A run that succeeds calls {@link #started} then {@link #completed}. A run that fails calls {@link #started},
 * then {@link #rolledBack} when its automatic rollback committed, then {@link #failed} last, with the outcome of
 * the rollback. Calls come on the thread that runs the transformer. An exception thrown by a listener is logged and
 * otherwise ignored: listeners never break a run or a rollback.
 */
public interface MigrationListener {

    /** The run is about to start; its tables have been checked. {@code run.duration()} is zero. */
    default void started(MigrationRun run) {
    }

    /** The run completed. */
    default void completed(MigrationRun run) {
    }

    /**
     * A rollback of the transformer's migration committed: the automatic one after a failure, or one asked for with
     * {@link Transformer#rollbackMigration()} or {@link Transformer#rollbackToCheckpoint(Checkpoint)}.
     *
     * @param transformer the transformer's name
     * @param result      what the rollback did, with its migration id and duration
     */
    default void rolledBack(String transformer, RollbackResult result) {
    }

    /** The run failed; the failure says what the automatic rollback did. */
    default void failed(MigrationFailure failure) {
    }
}
