package org.etlrollback;

import java.util.List;

/**
 * What {@link EtlRollback#track(String...)} did.
 *
 * @param tables the tables now tracked, schema-qualified, in the order they were asked for
 */
public record TrackResult(List<String> tables) {
    public TrackResult {
        tables = List.copyOf(tables);
    }
}
