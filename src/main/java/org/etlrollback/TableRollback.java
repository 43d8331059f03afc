package org.etlrollback;

/**
 * What a rollback does (or, in a dry run, would do) to one table.
 *
 * @param table      the schema-qualified table
 * @param deleted    rows the migration inserted, deleted again
 * @param updated    rows the migration changed, set back to their before-image
 * @param inserted   rows the migration deleted, inserted again
 * @param unchanged  rows already in their before-state (or changed and changed back), left alone
 * @param conflicts  rows changed after the migration
 */
public record TableRollback(String table, long deleted, long updated, long inserted, long unchanged, long conflicts) {
    /** Rows the rollback writes. */
    public long rowsRestored() {
        return deleted + updated + inserted;
    }
}
