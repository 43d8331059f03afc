package org.etlrollback;

/**
 * A rollback across databases that did not complete. {@link #result()} says, per database, whether its rollback is
 * committed, was never committed, failed, or is in doubt; the message says the same in words.
 */
public final class CrossDatabaseRollbackException extends EtlRollbackException {
    private static final long serialVersionUID = 1L;

    private final transient CrossDatabaseResult result;

    CrossDatabaseRollbackException(ErrorCode errorCode, String message, CrossDatabaseResult result, Throwable cause) {
        super(errorCode, message, cause);
        this.result = result;
    }

    /** Per database, where its rollback stands. */
    public CrossDatabaseResult result() {
        return result;
    }
}
