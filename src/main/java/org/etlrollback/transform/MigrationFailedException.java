package org.etlrollback.transform;

import java.util.Locale;
import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollbackException;
import org.etlrollback.RollbackResult;
import org.etlrollback.internal.database.Database;

/**
 * A transformer's run failed. The original exception is the {@linkplain #getCause() cause}, unchanged;
 * {@link #failure()} tells what the automatic rollback did, and a failed rollback's exception is also
 * {@linkplain #getSuppressed() suppressed} here. The message says both, and in which state the data was left.
 */
public final class MigrationFailedException extends EtlRollbackException {
    private static final long serialVersionUID = 1L;

    private final transient MigrationFailure failure;

    MigrationFailedException(MigrationFailure failure) {
        super(ErrorCode.FAILED, message(failure), failure.error());
        this.failure = failure;
        failure.rollbackFailure().ifPresent(this::addSuppressed);
    }

    /** The failed run and what its automatic rollback did. */
    public MigrationFailure failure() {
        return failure;
    }

    private static String message(MigrationFailure f) {
        String error = Database.redact(f.error().toString());
        StringBuilder m = new StringBuilder(f.transformer()).append(" (migration ").append(f.migrationId())
                .append(") failed: ").append(error).append(error.endsWith(".") ? " " : ". ");
        switch (f.autoRollback()) {
            case ROLLED_BACK -> {
                RollbackResult r = f.rollback().orElseThrow();
                m.append(r.outcome() == RollbackResult.Outcome.PARTIALLY_ROLLED_BACK
                                ? "Its changes were partly rolled back: " : "Its changes were rolled back: ")
                        .append(r.rowsRestored()).append(" row(s) restored in ").append(r.tables().size())
                        .append(" table(s)");
                if (r.conflictCount() > 0) {
                    m.append("; ").append(r.conflictCount()).append(" row(s) changed since were left as they are");
                }
                m.append('.');
            }
            case NOTHING_TO_ROLL_BACK -> m.append("It had logged no change: nothing to roll back.");
            case FAILED -> m.append("The automatic rollback failed too, so its changes are still in place: ")
                    .append(f.rollbackFailure().map(e -> Database.redact(e.getMessage())).orElse("no reason given"));
            case DISABLED -> m.append("Automatic rollback is off, so its changes are still in place; roll them back"
                    + " with rollbackMigration(), or: etl-rollback rollback ").append(f.migrationId());
            case NOT_LOGGED -> m.append("Rollback is disabled by configuration (enabled = false): its changes were"
                    + " not logged and cannot be rolled back.");
            default -> m.append(f.autoRollback().name().toLowerCase(Locale.ROOT));
        }
        return m.toString();
    }
}
