package org.etlrollback;

import java.util.List;

/**
 * A rollback refused because rows it would restore were changed after the migration; nothing was changed.
 */
public final class ConflictException extends EtlRollbackException {
    private static final long serialVersionUID = 1L;

    private final transient RollbackResult result;

    public ConflictException(RollbackResult result) {
        super(ErrorCode.CONFLICT, message(result));
        this.result = result;
    }

    /** The refused rollback: its plan counts and every conflict. */
    public RollbackResult result() {
        return result;
    }

    public List<Conflict> conflicts() {
        return result.conflicts();
    }

    private static String message(RollbackResult result) {
        return "rollback of " + result.migrationId() + " refused: " + result.conflictCount()
                + " row(s) were changed after it; nothing was changed. "
                + "Use --on-conflict skip, cascade or force to proceed.";
    }
}
