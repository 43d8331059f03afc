package org.etlrollback.proof;

import java.util.List;
import org.etlrollback.proof.RandomSchema.Table;

/**
 * One row as read from the database.
 *
 * @param table     its table
 * @param key       its key as {@code jsonb_build_object(...)::text}, as a rollback reports conflicts
 * @param keyValues the key column values in their text forms
 * @param text      the row's text form ({@code t::text}), exact for every type
 * @param json      {@code to_jsonb(t)::text}, as {@code etl_rollback.changes} shows row images
 * @param extra     the unique code of a parent, the reference of a child or node (text form); null if none
 */
record Row(Table table, String key, List<String> keyValues, String text, String json, String extra) {

    Row {
        keyValues = List.copyOf(keyValues);
    }

    /** The id of a parent, child or node row. */
    int id() {
        return Integer.parseInt(keyValues.get(0));
    }
}
