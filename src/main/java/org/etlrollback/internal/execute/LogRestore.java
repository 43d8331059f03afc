package org.etlrollback.internal.execute;

import static org.jooq.impl.DSL.coalesce;
import static org.jooq.impl.DSL.count;
import static org.jooq.impl.DSL.exists;
import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.inline;
import static org.jooq.impl.DSL.name;
import static org.jooq.impl.DSL.max;
import static org.jooq.impl.DSL.min;
import static org.jooq.impl.DSL.orderBy;
import static org.jooq.impl.DSL.sum;
import static org.jooq.impl.DSL.select;
import static org.jooq.impl.DSL.selectOne;
import static org.jooq.impl.DSL.when;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.etlrollback.RollbackProgress;
import org.etlrollback.TableRollback;
import org.etlrollback.internal.changelog.LoggedColumn;
import org.etlrollback.internal.changelog.LoggedTable;
import org.etlrollback.internal.plan.LogWindow;
import org.etlrollback.internal.plan.TableSql;
import org.jooq.Condition;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.Query;
import org.jooq.Record6;
import org.jooq.Select;
import org.jooq.Table;
import org.jooq.exception.DataAccessException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Restores a migration straight from its log, without a plan, where that comes to the same: in every table each row
 * was changed by one statement of the migration in the window, no update moved a key or rewrote its bytes, no
 * identity column is GENERATED ALWAYS, and no foreign key with an action refers to the tables. A row's one log row
 * then holds both its before-image and what the migration left of it, and is the row's plan. The plan's per-key
 * consolidation (a sort of every log row) and its comparison with the live rows (a probe per row) are saved: the
 * restoring statements compare each row themselves.
 *
 * <p>Per table one DELETE of the rows the migration inserted, one UPDATE of those it updated and one INSERT of those
 * it deleted: deletes children first, then updates and inserts parents first. The DELETE and UPDATE reach a row only
 * while it is exactly as the migration left it, and the INSERT fails on a key taken since. A row an update left as it
 * found it is not written, as a plan would find it done, but counted first, to be sure it is still so. So a statement
 * that changes (or a count that finds) fewer rows than the log holds, or breaks a constraint, stands for a conflict
 * (or a row already restored) or for an order of statements that the constraints refuse: the restore then gives way
 * to the plan, which tells those apart, and its caller rolls back what it did.
 */
public final class LogRestore {
    private static final Logger LOG = LoggerFactory.getLogger(LogRestore.class);

    /**
     * Key types that min() and max() order, so that two statements whose ranges of keys do not overlap changed no
     * key in common (whatever the collation of a text key: equal keys sort together in any of them).
     */
    private static final Pattern ORDERED = Pattern.compile(
            "smallint|integer|bigint|numeric(\\(.*\\))?|text|character varying(\\(.*\\))?|date"
                    + "|timestamp(\\(\\d\\))? with(out)? time zone");

    private final DSLContext dsl;

    /**
     * One table's rows as the restore writes them back: deleted, updated, inserted; and those an update left as it
     * found them, which the restore only checks.
     */
    public record TableChanges(TableSql sql, Condition logRows, long deletes, long updates, long inserts,
                               long unchanged) {
        public TableRollback outcome() {
            return new TableRollback(sql.table().qualifiedName(), deletes, updates, inserts, unchanged, 0);
        }

        long rows() {
            return deletes + updates + inserts;
        }
    }

    public LogRestore(DSLContext dsl) {
        this.dsl = dsl;
    }

    /**
     * What the restore would write to each table, parents first as given, or empty when the migration's changes in
     * the window need a plan.
     */
    public Optional<List<TableChanges>> changes(List<LoggedTable> parentsFirst, LogWindow window) {
        if (parentsFirst.stream().anyMatch(LoggedTable::hasIdentityAlways)
                || ForeignKeyActions.anyReferring(dsl, parentsFirst)) {
            return Optional.empty();
        }
        List<TableChanges> changes = new ArrayList<>();
        for (LoggedTable table : parentsFirst) {
            TableSql sql = new TableSql(table);
            Condition rows = window.rows(dsl, sql);
            Optional<TableChanges> tableChanges = changes(sql, rows);
            if (tableChanges.isEmpty()) {
                return Optional.empty();
            }
            changes.add(tableChanges.get());
        }
        return Optional.of(changes);
    }

    /**
     * One table's changes, or empty when the log rows need a plan. Counted per statement, with the least and the
     * greatest key each changed: a statement changes a row at most once, so where no two statements' key ranges
     * overlap, no row was changed twice, and the rows need not be sorted by key to tell.
     */
    private Optional<TableChanges> changes(TableSql sql, Condition rows) {
        Condition before = TableSql.image("l", "o", sql.keys().get(0)).isNotNull();
        Condition after = TableSql.image("l", "n", sql.keys().get(0)).isNotNull();
        Condition unchanged = before.and(after).and(TableSql.bytesDiffer("l", "o", "n", sql.columns()).not());
        // a key's log rows: by its key before the change, or after it where there was no row before
        List<Field<?>> key = new ArrayList<>();
        for (LoggedColumn k : sql.keys()) {
            key.add(sql.keyValue(k, when(before, TableSql.image("l", "o", k)).otherwise(TableSql.image("l", "n", k))));
        }
        boolean ranged = key.size() == 1 && ORDERED.matcher(sql.keys().get(0).type()).matches();
        Field<?> least = ranged ? min(key.get(0)) : inline((Object) null);
        Field<?> greatest = ranged ? max(key.get(0)) : inline((Object) null);
        Table<?> statements = dsl.select(
                        count().filterWhere(before.not()).as("inserted"),
                        // the updates, those left as found among them: one comparison of the images per row
                        count().filterWhere(before.and(after)).as("updated"),
                        count().filterWhere(unchanged).as("unchanged"),
                        count().filterWhere(after.not()).as("deleted"),
                        // a key written back with other bytes is moved too: the restore writes no key
                        count().filterWhere(before.and(after).and(sql.keyBytesDiffer("l", "o", "n"))).as("moved"),
                        least.as("least"), greatest.as("greatest"))
                .from(sql.log("l")).where(rows)
                .groupBy(field(name("l", "stmt")))
                .asTable("s");
        Field<Object> leastKey = field(name("s", "least"));
        Table<?> ranges = dsl.select(statements.asterisk(), max(field(name("s", "greatest"))).over(orderBy(leastKey)
                        .rowsBetweenUnboundedPreceding().andPreceding(1)).as("greatest_before"))
                .from(statements)
                .asTable("r");
        Record6<Long, Long, Long, Long, Long, Integer> counts = dsl.select(total("inserted"), total("updated"),
                        total("deleted"), total("moved"), total("unchanged"),
                        count().filterWhere(field(name("r", "least")).isNull()
                                .or(field(name("r", "least")).le(field(name("r", "greatest_before"))))))
                .from(ranges)
                .fetchSingle();
        if (counts.value4() > 0) {
            LOG.debug("{}: an update moved a key; planning", sql.table().qualifiedName());
            return Optional.empty();
        }
        if (counts.value2() > 0 && sql.columns(c -> c.isWritable() && !c.isKey()).isEmpty()) {
            // an update that moved no key wrote no column the restore could write back: nothing to compare by
            return Optional.empty();
        }
        if (counts.value6() > 0 && dsl.fetchValue(select(exists(selectOne().from(sql.log("l")).where(rows)
                .groupBy(key).having(count().gt(inline(1)))))) == Boolean.TRUE) {
            LOG.debug("{}: a row was changed more than once; planning", sql.table().qualifiedName());
            return Optional.empty();
        }
        return Optional.of(new TableChanges(sql, rows, counts.value1(), counts.value2() - counts.value5(),
                counts.value3(), counts.value5()));
    }

    private static Field<Long> total(String count) {
        return coalesce(sum(field(name("r", count), Long.class)), inline(BigDecimal.ZERO)).cast(Long.class);
    }

    /**
     * Writes the changes back, in the caller's transaction. Returns false as soon as a statement changes fewer rows
     * than the log holds or breaks a constraint: the caller must then roll back to a savepoint set before, since
     * what was done stays half done (or the transaction stands aborted), and plan.
     */
    public boolean restore(List<TableChanges> parentsFirst, RollbackProgress progress) {
        List<Step> steps = new ArrayList<>();
        List<TableChanges> childrenFirst = new ArrayList<>(parentsFirst);
        Collections.reverse(childrenFirst);
        for (TableChanges t : parentsFirst) {
            if (t.unchanged() > 0) {
                steps.add(new Step("check " + t.sql().table().qualifiedName(), unchanged(t), t.unchanged()));
            }
        }
        for (TableChanges t : childrenFirst) {
            if (t.deletes() > 0) {
                steps.add(new Step("delete " + t.sql().table().qualifiedName(), delete(t), t.deletes()));
            }
        }
        for (TableChanges t : parentsFirst) {
            if (t.updates() > 0) {
                steps.add(new Step("update " + t.sql().table().qualifiedName(), update(t),
                        t.updates()));
            }
        }
        for (TableChanges t : parentsFirst) {
            if (t.inserts() > 0) {
                steps.add(new Step("insert " + t.sql().table().qualifiedName(), insert(t),
                        t.inserts()));
            }
        }
        long planned = parentsFirst.stream().mapToLong(TableChanges::rows).sum();
        long done = 0;
        for (Step step : steps) {
            long rows;
            try {
                rows = step.query() instanceof Select<?> count ? count.fetchSingle().get(0, Long.class)
                        : step.query().execute();
            } catch (DataAccessException e) {
                if (!Executor.isConstraintViolation(e)) {
                    throw e;
                }
                LOG.debug("{} broke a constraint; planning: {}", step.description(), e.getMessage());
                return false;
            }
            if (rows != step.rows()) {
                LOG.debug("{} found {} of {} row(s) as the migration left them; planning", step.description(), rows,
                        step.rows());
                return false;
            }
            if (!(step.query() instanceof Select<?>)) {
                done += rows;
                progress.update(step.description(), done, planned);
            }
        }
        return true;
    }

    /** A statement that restores rows, or a query that counts rows the restore leaves as they are. */
    private record Step(String description, Query query, long rows) {
    }

    /**
     * The rows an update left as it found them, still so: there is nothing to write back, and writing them would log
     * changes that change nothing.
     */
    private Select<?> unchanged(TableChanges t) {
        TableSql sql = t.sql();
        return dsl.selectCount().from(sql.log("l")).join(sql.target("t")).on(sql.keyMatches("t", "l", "n"))
                .where(t.logRows())
                .and(TableSql.image("l", "o", sql.keys().get(0)).isNotNull())
                .and(TableSql.image("l", "n", sql.keys().get(0)).isNotNull())
                .and(TableSql.bytesDiffer("l", "o", "n", sql.columns()).not())
                .and(sql.rowEqualsImage("t", "l", "n"));
    }

    /** The rows the migration inserted, as it left them. */
    private Query delete(TableChanges t) {
        TableSql sql = t.sql();
        return dsl.deleteFrom(sql.target("t")).using(sql.log("l"))
                .where(t.logRows())
                .and(TableSql.image("l", "o", sql.keys().get(0)).isNull())
                .and(sql.keyMatches("t", "l", "n"))
                .and(sql.rowEqualsImage("t", "l", "n"));
    }

    /** The rows the migration updated, as it left them, back to their before-images. */
    private Query update(TableChanges t) {
        TableSql sql = t.sql();
        Map<Field<?>, Field<?>> values = new LinkedHashMap<>();
        sql.columns(c -> c.isWritable() && !c.isKey())
                .forEach(c -> values.put(field(name(c.name())), TableSql.image("l", "o", c)));
        return dsl.update(sql.target("t")).set(values).from(sql.log("l"))
                .where(t.logRows())
                .and(TableSql.image("l", "o", sql.keys().get(0)).isNotNull())
                .and(TableSql.image("l", "n", sql.keys().get(0)).isNotNull())
                .and(TableSql.bytesDiffer("l", "o", "n", sql.columns()))
                .and(sql.keyMatches("t", "l", "n"))
                .and(sql.rowEqualsImage("t", "l", "n"));
    }

    /** The rows the migration deleted (or truncated), with their before-images. */
    private Query insert(TableChanges t) {
        TableSql sql = t.sql();
        List<LoggedColumn> cols = sql.columns(LoggedColumn::isWritable);
        return Executor.insertQuery(dsl, sql, cols,
                select(cols.stream().map(c -> TableSql.image("l", "o", c)).toList())
                        .from(sql.log("l"))
                        .where(t.logRows())
                        .and(TableSql.image("l", "n", sql.keys().get(0)).isNull()));
    }
}
