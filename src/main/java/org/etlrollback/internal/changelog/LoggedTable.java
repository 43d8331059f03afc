package org.etlrollback.internal.changelog;

import java.util.Comparator;
import java.util.List;

/**
 * A tracked table whose log a rollback reads.
 *
 * @param tableId       surrogate id; the log is {@code etl_rollback.log_<tableId>}
 * @param schema        current schema of the table
 * @param name          current name of the table
 * @param qualifiedName schema-qualified and quoted where needed (by the server's rules), as reports print it
 * @param relid         the table's OID
 * @param columns       the logged columns that still exist in the table, by position
 */
public record LoggedTable(int tableId, String schema, String name, String qualifiedName, long relid,
                          List<LoggedColumn> columns) {

    public LoggedTable {
        columns = List.copyOf(columns);
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
