package org.etlrollback;

import java.util.List;

/**
 * What {@link EtlRollback#untrack(String...)} did.
 *
 * @param tables the tables no longer tracked, schema-qualified, in the order they were asked for;
 *               their logs are kept
 */
public record UntrackResult(List<String> tables) {
    public UntrackResult {
        tables = List.copyOf(tables);
    }
}
