package org.etlrollback.internal.execute;

import static org.jooq.impl.DSL.condition;
import static org.jooq.impl.DSL.exists;
import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.inline;
import static org.jooq.impl.DSL.keyword;
import static org.jooq.impl.DSL.name;
import static org.jooq.impl.DSL.noCondition;
import static org.jooq.impl.DSL.notExists;
import static org.jooq.impl.DSL.row;
import static org.jooq.impl.DSL.select;
import static org.jooq.impl.DSL.selectOne;
import static org.jooq.impl.DSL.table;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollbackException;
import org.etlrollback.internal.changelog.LoggedColumn;
import org.etlrollback.internal.changelog.LoggedTable;
import org.etlrollback.internal.database.ForeignKey;
import org.etlrollback.internal.plan.RollbackPlan;
import org.etlrollback.internal.plan.TablePlan;
import org.etlrollback.internal.plan.TableSql;
import org.jooq.Condition;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.Record;
import org.jooq.Select;
import org.jooq.SelectFieldOrAsterisk;

/**
 * The foreign keys whose ON DELETE or ON UPDATE action (CASCADE, SET NULL, SET DEFAULT) would make a rollback
 * change rows it does not restore. Deleting a row the migration inserted, or changing a referenced value back, fires
 * the action on every row that refers to it; a row the rollback does not itself restore (another migration's, an
 * untagged write's, a row of an untracked table) would be deleted or changed without a trace in the plan. Such a
 * rollback is refused before it writes anything, as a foreign key without an action refuses it by failing.
 *
 * <p>Only rows the plan does not restore count, as they are now. Whether the action fires on a row the plan
 * restores depends on the order of the restoring statements: the executor checks, after each order it tries on such
 * tables, that every restored row is as planned, and tries the next order where one is not.
 */
final class ForeignKeyActions {
    private final DSLContext dsl;

    ForeignKeyActions(DSLContext dsl) {
        this.dsl = dsl;
    }

    void check(RollbackPlan plan, boolean restoreConflicts) {
        Map<Long, TablePlan> byRelid = new HashMap<>();
        plan.tables().forEach(t -> byRelid.put(t.table().relid(), t));
        for (ForeignKey fk : foreignKeysReferring(List.copyOf(byRelid.keySet()))) {
            TablePlan referenced = byRelid.get(fk.referencedRelid());
            long referring = referringRows(fk, referenced, byRelid.get(fk.relid()), restoreConflicts);
            if (referring > 0) {
                throw new EtlRollbackException(ErrorCode.FAILED, "rollback of " + plan.migration().migrationId()
                        + " refused: it would delete rows of " + referenced.table().qualifiedName()
                        + " (or change their " + fk.referencedColumns() + ") that " + referring + " row(s) of "
                        + fk.qualifiedName() + " it does not restore refer to, and foreign key " + fk.name() + " ("
                        + fk.actions() + ") would change those rows too. Nothing was changed. Roll back or change the"
                        + " referring rows first.");
            }
        }
    }

    /** Whether a foreign key with an action refers to one of the tables. */
    static boolean anyReferring(DSLContext dsl, List<LoggedTable> tables) {
        return !new ForeignKeyActions(dsl).foreignKeysReferring(tables.stream().map(LoggedTable::relid).toList())
                .isEmpty();
    }

    /** The foreign keys with an action that refer to one of the tables. */
    private List<ForeignKey> foreignKeysReferring(List<Long> relids) {
        return ForeignKey.referringTo(dsl, relids).stream().filter(ForeignKey::hasAction).toList();
    }

    /**
     * How many rows of the referring table that the rollback does not restore refer to a row it deletes (ON DELETE
     * actions) or to a value it changes (ON UPDATE actions).
     */
    private long referringRows(ForeignKey fk, TablePlan referenced, TablePlan referring, boolean restoreConflicts) {
        TableSql parent = new TableSql(referenced.table(), referenced.planTable());
        Condition restoredP = restoredIn("p", restoreConflicts);
        Condition gone = noCondition();
        if (fk.onDelete().isPresent()) {
            gone = gone.or(field(name("p", "action")).eq(inline("D")));
        }
        if (fk.onUpdate().isPresent()) {
            List<Field<?>> now = new ArrayList<>();
            List<Field<?>> before = new ArrayList<>();
            for (String c : fk.referencedColumns()) {
                LoggedColumn key = column(parent, c);
                now.add(field("cast({0} as {1})", field(name("t", c)), keyword(key.type())));
                before.add(TableSql.image("p", "b", key));
            }
            // the action fires when the bytes change, though the value may stay equal (1.0 and 1.00)
            gone = gone.or(field(name("p", "action")).eq(inline("U")).and(condition(
                    "cast(row{0} as record) operator(pg_catalog.*<>) cast(row{1} as record)", row(now), row(before))));
        }
        Condition refers = noCondition();
        for (int i = 0; i < fk.columns().size(); i++) {
            // by the key's own equality, which the pinned search_path may not find (citext's)
            refers = refers.and(condition("{0} operator({1}) {2}", field(name("r", fk.columns().get(i))),
                    keyword(fk.equalities().get(i)), field(name("t", fk.referencedColumns().get(i)))));
        }
        Select<? extends Record> rows = otherRows(fk, referring, restoreConflicts);
        return dsl.fetchCount(selectOne().from(rows.asTable("r"))
                .where(exists(selectOne().from(parent.target("t")).join(parent.plan("p"))
                        .on(parent.keyMatches("t", "p", "b"))
                        .where(restoredP).and(gone).and(refers))));
    }

    /** The referring columns of the referring table's rows that the plan does not restore. */
    private Select<? extends Record> otherRows(ForeignKey fk, TablePlan referring, boolean restoreConflicts) {
        List<SelectFieldOrAsterisk> current = new ArrayList<>();
        fk.columns().forEach(c -> current.add(field(name("c", c)).as(c)));
        if (referring == null) {
            return select(current).from(table(name(fk.schema(), fk.table())).as("c"));
        }
        TableSql child = new TableSql(referring.table(), referring.planTable());
        return select(current).from(child.target("c"))
                .where(notExists(selectOne().from(child.plan("q")).where(child.keyMatches("c", "q", "b"))
                        .and(restoredIn("q", restoreConflicts))));
    }

    private static Condition restoredIn(String alias, boolean restoreConflicts) {
        return restoreConflicts
                ? field(name(alias, "state")).in(inline("ok"), inline("conflict"))
                : field(name(alias, "state")).eq(inline("ok"));
    }

    private static LoggedColumn column(TableSql sql, String name) {
        return sql.columns().stream().filter(c -> c.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalStateException("column " + name + " of "
                        + sql.table().qualifiedName() + " is not logged"));
    }
}
