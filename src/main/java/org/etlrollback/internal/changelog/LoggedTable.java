package org.etlrollback.internal.changelog;

import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * A tracked table whose log a rollback reads.
 *
 * @param tableId       surrogate id; the log is {@code etl_rollback.log_<tableId>}
 * @param schema        current schema of the table
 * @param name          current name of the table
 * @param qualifiedName schema-qualified and quoted where needed (by the server's rules), as reports print it
 * @param relid         the table's OID
 * @param columns       the logged columns that still exist in the table, by position
 * @param keyEquality   how the table's key index compares each key column, by the column's name
 */
public record LoggedTable(int tableId, String schema, String name, String qualifiedName, long relid,
                          List<LoggedColumn> columns, Map<String, KeyEquality> keyEquality) {

    public LoggedTable {
        columns = List.copyOf(columns);
        keyEquality = Map.copyOf(keyEquality);
    }

    /** How the key index compares a key column. */
    public KeyEquality equality(LoggedColumn key) {
        KeyEquality equality = keyEquality.get(key.name());
        if (equality == null) {
            throw new IllegalStateException("column " + key.name() + " of " + qualifiedName + " is not a key");
        }
        return equality;
    }

    public String logTable() {
        return "log_" + tableId;
    }

    public List<LoggedColumn> keyColumns() {
        return columns.stream().filter(LoggedColumn::isKey)
                .sorted(Comparator.comparing(c -> c.keyPosition().orElseThrow()))
                .toList();
    }

    public boolean hasIdentityAlways() {
        return columns.stream().anyMatch(LoggedColumn::identityAlways);
    }
}
