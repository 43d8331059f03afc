package org.etlrollback;

import java.util.List;

/**
 * A row the migration changed that something else changed afterwards.
 *
 * @param table            the schema-qualified table
 * @param key              the row's key as a JSON object, e.g. {@code {"id": 20}}
 * @param laterMigrations  the migrations that changed the row after it, oldest first
 * @param untagged         whether a change made with no migration id changed the row afterwards too, as the log
 *                         shows it: the row is not as the last logged change left it, or a logged change found it
 *                         otherwise than the one before had left it
 */
public record Conflict(String table, String key, List<String> laterMigrations, boolean untagged) {
    public Conflict {
        laterMigrations = List.copyOf(laterMigrations);
    }

    /** Who changed the row later, as the reports print it: migration ids, then {@code untagged}. */
    public String changedBy() {
        StringBuilder by = new StringBuilder(String.join(", ", laterMigrations));
        if (untagged) {
            by.append(by.length() == 0 ? "untagged" : ", untagged");
        }
        return by.toString();
    }
}
