package org.etlrollback.internal.plan;

import static org.etlrollback.internal.schema.Tables.STATEMENT;
import static org.etlrollback.internal.schema.Tables.TRACKED_TABLE;
import static org.jooq.impl.DSL.selectOne;
import static org.jooq.impl.DSL.sum;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.etlrollback.internal.changelog.LoggedColumn;
import org.etlrollback.internal.changelog.LoggedTable;
import org.etlrollback.internal.database.ForeignKey;
import org.jooq.DSLContext;

/**
 * What a migration changed beyond its log, through the foreign keys of tables that are not tracked: deleting or
 * truncating rows of a tracked table, or changing the values other rows refer to, makes PostgreSQL delete or change
 * the referring rows of other tables as well (ON DELETE and ON UPDATE actions, TRUNCATE ... CASCADE). Those changes
 * are logged where the referring table is tracked; where it is not, they are not, and no rollback can undo them.
 * A rollback still restores what was logged, and says what it cannot restore.
 */
public final class UnloggedActions {
    private final DSLContext dsl;

    public UnloggedActions(DSLContext dsl) {
        this.dsl = dsl;
    }

    /** One sentence per foreign key of an untracked table that the migration's changes in the window fired. */
    public List<String> warnings(String migrationId, LogWindow window, List<LoggedTable> tables) {
        List<ForeignKey> foreignKeys = untrackedForeignKeysTo(tables);
        if (foreignKeys.isEmpty()) {
            return List.of();
        }
        Map<Long, LoggedTable> byRelid = tables.stream()
                .collect(Collectors.toMap(LoggedTable::relid, Function.identity()));
        Map<Integer, Map<String, Long>> rows = rowsByTableAndKind(window);
        List<String> warnings = new ArrayList<>();
        for (ForeignKey fk : foreignKeys) {
            LoggedTable referenced = byRelid.get(fk.referencedRelid());
            Map<String, Long> changed = rows.getOrDefault(referenced.tableId(), Map.of());
            long truncated = changed.getOrDefault("T", 0L);
            long deleted = changed.getOrDefault("D", 0L);
            String unrestored = ": those changes were not logged, and no rollback of " + migrationId
                    + " restores them. Track " + fk.qualifiedName() + " too to have such changes logged.";
            if (truncated > 0) {
                // a table others refer to is truncated only with them (TRUNCATE ... CASCADE, or all named at once)
                warnings.add(migrationId + " truncated " + referenced.qualifiedName() + ", and "
                        + fk.qualifiedName() + ", which refers to it by foreign key " + fk.name()
                        + " and is not tracked, was truncated with it" + unrestored);
            } else if (deleted > 0 && fk.onDelete().isPresent()) {
                warnings.add(migrationId + " deleted " + deleted + " row(s) of " + referenced.qualifiedName()
                        + ", and foreign key " + fk.name() + " (" + fk.onDelete().get() + ") of "
                        + fk.qualifiedName() + ", which is not tracked, changed any rows of it that referred to them"
                        + unrestored);
            }
            if (fk.onUpdate().isPresent() && changed.containsKey("U")
                    && changedReferencedValues(window, referenced, fk.referencedColumns())) {
                warnings.add(migrationId + " changed the values of " + fk.referencedColumns() + " in rows of "
                        + referenced.qualifiedName() + ", and foreign key " + fk.name() + " ("
                        + fk.onUpdate().get() + ") of " + fk.qualifiedName() + ", which is not tracked, changed any"
                        + " rows of it that referred to them" + unrestored);
            }
        }
        return warnings;
    }

    /**
     * The foreign keys of tables not tracked that refer to one of the tables, with an action or not: one without
     * counts for TRUNCATE ... CASCADE.
     */
    private List<ForeignKey> untrackedForeignKeysTo(List<LoggedTable> tables) {
        List<ForeignKey> foreignKeys = ForeignKey.referringTo(dsl,
                tables.stream().map(LoggedTable::relid).toList());
        if (foreignKeys.isEmpty()) {
            return foreignKeys;
        }
        Set<Long> tracked = new HashSet<>(dsl.select(TRACKED_TABLE.RELID).from(TRACKED_TABLE)
                .where(TRACKED_TABLE.UNTRACKED_AT.isNull()).fetch(TRACKED_TABLE.RELID));
        return foreignKeys.stream().filter(fk -> !tracked.contains(fk.relid())).toList();
    }

    /** How many rows the migration's statements in the window changed, by table and kind (I, U, D, T). */
    private Map<Integer, Map<String, Long>> rowsByTableAndKind(LogWindow window) {
        Map<Integer, Map<String, Long>> rows = new HashMap<>();
        dsl.select(STATEMENT.TABLE_ID, STATEMENT.OP, sum(STATEMENT.ROW_COUNT)).from(STATEMENT)
                .where(STATEMENT.MIG.eq(window.mig())).and(STATEMENT.STMT.gt(window.fromSeq()))
                .and(STATEMENT.STMT.le(window.uptoSeq()))
                .groupBy(STATEMENT.TABLE_ID, STATEMENT.OP)
                .forEach(r -> rows.computeIfAbsent(r.value1(), t -> new HashMap<>())
                        .put(r.value2(), r.value3().longValue()));
        return rows;
    }

    /** Whether the migration's updates in the window changed the bytes of the referenced columns of some row. */
    private boolean changedReferencedValues(LogWindow window, LoggedTable table, List<String> columns) {
        List<Optional<LoggedColumn>> logged = columns.stream()
                .map(c -> table.columns().stream().filter(l -> l.name().equals(c)).findFirst()).toList();
        if (logged.stream().anyMatch(Optional::isEmpty)) {
            // a referenced column the log does not hold: whether it changed cannot be told, so it may have
            return true;
        }
        TableSql sql = new TableSql(table);
        return dsl.fetchExists(selectOne().from(sql.log("l"))
                .where(window.rows(dsl, sql))
                .and(TableSql.image("l", "o", table.keyColumns().get(0)).isNotNull())
                .and(TableSql.image("l", "n", table.keyColumns().get(0)).isNotNull())
                .and(TableSql.bytesDiffer("l", "o", "n", logged.stream().map(Optional::get).toList())));
    }
}
