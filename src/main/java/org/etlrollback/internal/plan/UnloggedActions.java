package org.etlrollback.internal.plan;

import static org.etlrollback.internal.schema.Tables.STATEMENT;
import static org.jooq.impl.DSL.condition;
import static org.jooq.impl.DSL.row;
import static org.jooq.impl.DSL.selectOne;
import static org.jooq.impl.DSL.sum;
import static org.jooq.impl.DSL.val;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.etlrollback.internal.changelog.LoggedColumn;
import org.etlrollback.internal.changelog.LoggedTable;
import org.jooq.DSLContext;
import org.jooq.Field;

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

    private record ForeignKey(String name, String referring, long referencedRelid, String onDelete, String onUpdate,
                              List<String> referencedColumns) {
    }

    /** One sentence per foreign key of an untracked table that the migration's changes in the window fired. */
    public List<String> warnings(String migrationId, LogWindow window, List<LoggedTable> tables) {
        List<ForeignKey> foreignKeys = untrackedForeignKeysTo(tables);
        if (foreignKeys.isEmpty()) {
            return List.of();
        }
        Map<Long, LoggedTable> byRelid = tables.stream()
                .collect(Collectors.toMap(LoggedTable::relid, Function.identity()));
        List<String> warnings = new ArrayList<>();
        for (ForeignKey fk : foreignKeys) {
            LoggedTable referenced = byRelid.get(fk.referencedRelid());
            long truncated = rows(window, referenced, "T");
            long deleted = rows(window, referenced, "D");
            String unrestored = ": those changes were not logged, and no rollback of " + migrationId
                    + " restores them. Track " + fk.referring() + " too to have such changes logged.";
            if (truncated > 0) {
                // a table others refer to is truncated only with them (TRUNCATE ... CASCADE, or all named at once)
                warnings.add(migrationId + " truncated " + referenced.qualifiedName() + ", and " + fk.referring()
                        + ", which refers to it by foreign key " + fk.name() + " and is not tracked, was truncated"
                        + " with it" + unrestored);
            } else if (deleted > 0 && fk.onDelete() != null) {
                warnings.add(migrationId + " deleted " + deleted + " row(s) of " + referenced.qualifiedName()
                        + ", and foreign key " + fk.name() + " (" + fk.onDelete() + ") of " + fk.referring()
                        + ", which is not tracked, changed any rows of it that referred to them" + unrestored);
            }
            if (fk.onUpdate() != null && changedReferencedValues(window, referenced, fk.referencedColumns())) {
                warnings.add(migrationId + " changed the values of " + fk.referencedColumns() + " in rows of "
                        + referenced.qualifiedName() + ", and foreign key " + fk.name() + " (" + fk.onUpdate()
                        + ") of " + fk.referring() + ", which is not tracked, changed any rows of it that referred"
                        + " to them" + unrestored);
            }
        }
        return warnings;
    }

    /**
     * The foreign keys of tables not tracked that refer to one of the tables (partitioned ones by their root), and
     * their actions; a foreign key without one counts for TRUNCATE ... CASCADE.
     */
    private List<ForeignKey> untrackedForeignKeysTo(List<LoggedTable> tables) {
        return dsl.resultQuery("""
                        select c.conname::text, format('%I.%I', n.nspname, r.relname),
                               coalesce(pg_partition_root(c.confrelid), c.confrelid)::bigint,
                               case c.confdeltype when 'c' then 'ON DELETE CASCADE' when 'n' then 'ON DELETE SET NULL'
                                                  when 'd' then 'ON DELETE SET DEFAULT' end,
                               case c.confupdtype when 'c' then 'ON UPDATE CASCADE' when 'n' then 'ON UPDATE SET NULL'
                                                  when 'd' then 'ON UPDATE SET DEFAULT' end,
                               array(select a.attname::text from unnest(c.confkey) with ordinality k(attnum, ord)
                                       join pg_catalog.pg_attribute a on a.attrelid = c.confrelid and a.attnum = k.attnum
                                      order by k.ord)
                          from pg_catalog.pg_constraint c
                          join pg_catalog.pg_class r on r.oid = coalesce(pg_partition_root(c.conrelid), c.conrelid)
                          join pg_catalog.pg_namespace n on n.oid = r.relnamespace
                         where c.contype = 'f' and c.conparentid = 0
                           and coalesce(pg_partition_root(c.confrelid), c.confrelid)::bigint = any({0})
                           and not exists (select from etl_rollback.tracked_table t
                                            where t.relid = r.oid::bigint and t.untracked_at is null)
                         order by 2, 1""", val(tables.stream().map(LoggedTable::relid).toArray(Long[]::new)))
                .fetch(r -> new ForeignKey(r.get(0, String.class), r.get(1, String.class), r.get(2, Long.class),
                        r.get(3, String.class), r.get(4, String.class), List.of(r.get(5, String[].class))));
    }

    /** How many rows the migration's statements of one kind changed in the table within the window. */
    private long rows(LogWindow window, LoggedTable table, String op) {
        BigDecimal rows = dsl.select(sum(STATEMENT.ROW_COUNT)).from(STATEMENT)
                .where(STATEMENT.MIG.eq(window.mig())).and(STATEMENT.TABLE_ID.eq(table.tableId()))
                .and(STATEMENT.OP.eq(op)).and(STATEMENT.STMT.gt(window.fromSeq()))
                .and(STATEMENT.STMT.le(window.uptoSeq()))
                .fetchSingle().value1();
        return rows == null ? 0 : rows.longValue();
    }

    /** Whether the migration's updates in the window changed the bytes of the referenced columns of some row. */
    private boolean changedReferencedValues(LogWindow window, LoggedTable table, List<String> columns) {
        List<Optional<LoggedColumn>> logged = columns.stream()
                .map(c -> table.columns().stream().filter(l -> l.name().equals(c)).findFirst()).toList();
        if (logged.stream().anyMatch(Optional::isEmpty)) {
            // a referenced column the log does not hold: whether it changed cannot be told, so it may have
            return rows(window, table, "U") > 0;
        }
        List<Field<?>> before = logged.stream().<Field<?>>map(c -> TableSql.image("l", "o", c.get())).toList();
        List<Field<?>> after = logged.stream().<Field<?>>map(c -> TableSql.image("l", "n", c.get())).toList();
        TableSql sql = new TableSql(table);
        return dsl.fetchExists(selectOne().from(sql.log("l"))
                .where(window.rows(dsl, sql))
                .and(TableSql.image("l", "o", table.keyColumns().get(0)).isNotNull())
                .and(TableSql.image("l", "n", table.keyColumns().get(0)).isNotNull())
                .and(condition("cast(row{0} as record) operator(pg_catalog.*<>) cast(row{1} as record)",
                        row(before), row(after))));
    }
}
