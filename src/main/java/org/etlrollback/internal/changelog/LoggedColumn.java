package org.etlrollback.internal.changelog;

import java.util.Optional;

/**
 * A column of a tracked table as the log stores it: before-image in {@code o<position>}, after-image in
 * {@code n<position>}. Statements numbered below {@code loggedSince} did not log it.
 */
public record LoggedColumn(int position, String name, String type, Optional<Integer> keyPosition, boolean generated,
                           boolean identityAlways, long loggedSince) {

    public boolean isKey() {
        return keyPosition.isPresent();
    }

    /** Whether a restore writes this column (generated columns are recomputed by the server). */
    public boolean isWritable() {
        return !generated;
    }
}
