package org.etlrollback;

/**
 * What a rollback does with a row that something else changed after the migration last changed it.
 */
public enum ConflictPolicy {
    /** Change nothing and report every conflicting row. */
    ABORT,
    /** Roll back every row that is not in conflict; leave the conflicting rows and report them. */
    SKIP,
    /** First roll back, newest first, the later migrations that changed the migration's rows. */
    CASCADE,
    /** Restore the before-images anyway, overwriting the later changes. */
    FORCE;

    /** The policy named as on the command line ({@code abort}, {@code skip}, {@code cascade}, {@code force}). */
    public static ConflictPolicy parse(String name) {
        for (ConflictPolicy policy : values()) {
            if (policy.name().equalsIgnoreCase(name)) {
                return policy;
            }
        }
        throw new EtlRollbackException(ErrorCode.USAGE,
                "unknown conflict policy '" + name + "': use abort, skip, cascade or force");
    }
}
