package org.etlrollback;

import java.util.LinkedHashMap;
import java.util.Map;
import org.jooq.DSLContext;

/**
 * The full content of some tables, every row as its exact text form, for before/after comparisons.
 */
public final class TableState {
    private TableState() {
    }

    /** Table name to its rows' text forms, sorted, one per line. */
    public static Map<String, String> of(DSLContext dsl, String... tables) {
        return dsl.transactionResult(c -> {
            DSLContext tx = c.dsl();
            tx.execute("set local extra_float_digits = 3");
            Map<String, String> state = new LinkedHashMap<>();
            for (String table : tables) {
                state.put(table, tx.resultQuery(
                        "select coalesce(string_agg(t::text, E'\\n' order by t::text), '') from " + table + " t")
                        .fetchSingle(0, String.class));
            }
            return state;
        });
    }

    /** The rows of one table, as {@link #of} gives them. */
    public static String rows(DSLContext dsl, String table) {
        return of(dsl, table).get(table);
    }
}
