package org.etlrollback;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What {@link CrossDatabaseRollback#rollback(String, RollbackOptions)} did in each database.
 *
 * @param migrationId the migration rolled back
 * @param mode        whether the databases committed as one unit (two-phase) or one after the other
 * @param databases   per database, in the order they were configured
 */
public record CrossDatabaseResult(String migrationId, Mode mode, List<DatabaseRollback> databases) {

    public CrossDatabaseResult {
        Objects.requireNonNull(migrationId, "migrationId");
        Objects.requireNonNull(mode, "mode");
        databases = List.copyOf(databases);
    }

    /** How the databases' rollbacks were committed. */
    public enum Mode {
        /** Every database prepared its rollback ({@code PREPARE TRANSACTION}), then all committed. */
        TWO_PHASE,
        /** Each database committed its own rollback before the next one started. */
        ONE_BY_ONE
    }

    /** Where one database's rollback stands. */
    public enum State {
        /** The rollback is committed in this database. */
        COMMITTED,
        /** Nothing was changed in this database (a dry run, or the unit was abandoned). */
        NOT_COMMITTED,
        /** The rollback failed in this database; nothing was changed there. */
        FAILED,
        /**
         * Prepared but not known to be committed: the commit could not be confirmed. The prepared transaction
         * holds its locks until someone runs {@code COMMIT PREPARED} with the id in {@link DatabaseRollback#error()}.
         */
        IN_DOUBT,
        /** Not attempted: a database before it failed (one by one only). */
        NOT_ATTEMPTED
    }

    /**
     * One database's part.
     *
     * @param database the name it was configured with
     * @param state    where its rollback stands
     * @param result   its rollback's result, once it was planned and carried out (committed or not)
     * @param error    why it failed or is in doubt, and what to do
     */
    public record DatabaseRollback(String database, State state, Optional<RollbackResult> result,
                                   Optional<String> error) {
        public DatabaseRollback {
            Objects.requireNonNull(database, "database");
            Objects.requireNonNull(state, "state");
            Objects.requireNonNull(result, "result");
            Objects.requireNonNull(error, "error");
        }
    }

    /** The databases whose rollback is committed, in order. */
    public List<String> committed() {
        return databases.stream().filter(d -> d.state() == State.COMMITTED).map(DatabaseRollback::database).toList();
    }

    /** Whether every database committed its rollback (false for a dry run). */
    public boolean complete() {
        return databases.stream().allMatch(d -> d.state() == State.COMMITTED);
    }
}
