package org.etlrollback.internal.changelog;

import java.util.Optional;

/**
 * A migration as the log knows it.
 *
 * @param mig            surrogate id used by the log
 * @param migrationId    the id the changes were made under
 * @param status         {@code active}, {@code rolled_back} or {@code partially_rolled_back}
 * @param undoneAfterSeq changes with a larger seq are already rolled back
 * @param rollbackOf     for a migration {@code rollback:X}, the surrogate of X
 */
public record LoggedMigration(int mig, String migrationId, String status, Optional<Long> undoneAfterSeq,
                              Optional<Integer> rollbackOf) {

    public boolean isRolledBack() {
        return "rolled_back".equals(status);
    }
}
