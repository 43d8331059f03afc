package org.etlrollback;

import java.util.List;

/**
 * What {@link EtlRollback#track(String...)} did.
 *
 * @param tables   the tables now tracked, schema-qualified, in the order they were asked for
 * @param warnings one sentence for each table that refers to one of them by a foreign key with an action
 *                 ({@code ON DELETE CASCADE} and the like) and is not tracked: what the action does to its rows is
 *                 not logged, so no rollback can restore it
 */
public record TrackResult(List<String> tables, List<String> warnings) {
    public TrackResult {
        tables = List.copyOf(tables);
        warnings = List.copyOf(warnings);
    }
}
