package org.etlrollback;

/**
 * What went wrong, in the terms of the command line's exit codes.
 */
public enum ErrorCode {
    /** The database refused or failed, or the request cannot be carried out (exit code 1). */
    FAILED(1),
    /** The request itself is malformed: unknown option, bad value (exit code 2). */
    USAGE(2),
    /** A rollback was refused because later changes conflict with it (exit code 3). */
    CONFLICT(3);

    private final int exitCode;

    ErrorCode(int exitCode) {
        this.exitCode = exitCode;
    }

    /** The exit code the command line ends with for this error. */
    public int exitCode() {
        return exitCode;
    }
}
