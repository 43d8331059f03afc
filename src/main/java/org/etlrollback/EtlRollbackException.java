package org.etlrollback;

/**
 * The one exception etl-rollback throws. Its message says what happened, to what, and what state
 * the database was left in; {@link #errorCode()} tells how a caller (or the command line) should react.
 */
public class EtlRollbackException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final ErrorCode errorCode;

    public EtlRollbackException(ErrorCode errorCode, String message) {
        super(message);
        this.errorCode = errorCode;
    }

    public EtlRollbackException(ErrorCode errorCode, String message, Throwable cause) {
        super(message, cause);
        this.errorCode = errorCode;
    }

    public ErrorCode errorCode() {
        return errorCode;
    }
}
