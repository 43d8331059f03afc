package org.etlrollback.internal.plan;

import static org.jooq.impl.DSL.condition;
import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.keyword;
import static org.jooq.impl.DSL.name;
import static org.jooq.impl.DSL.noCondition;
import static org.jooq.impl.DSL.row;
import org.jooq.impl.DSL;

import java.util.List;
import java.util.function.Predicate;
import org.etlrollback.internal.changelog.LoggedColumn;
import org.etlrollback.internal.changelog.LoggedTable;
import org.jooq.Condition;
import org.jooq.Field;
import org.jooq.Name;
import org.jooq.Table;

/**
 * The SQL pieces, as jOOQ query parts, that address one tracked table, its log and its plan.
 */
public final class TableSql {
    private final LoggedTable table;
    private final Name planTable;

    public TableSql(LoggedTable table, Name planTable) {
        this.table = table;
        this.planTable = planTable;
    }

    /** The pieces that address a table and its log, for statements that read no plan. */
    public TableSql(LoggedTable table) {
        this(table, null);
    }

    public LoggedTable table() {
        return table;
    }

    /** The tracked table itself, aliased. */
    public Table<?> target(String alias) {
        return DSL.table(name(table.schema(), table.name())).as(alias);
    }

    public Table<?> targetUnaliased() {
        return DSL.table(name(table.schema(), table.name()));
    }

    public Table<?> log(String alias) {
        return DSL.table(name("etl_rollback", table.logTable())).as(alias);
    }

    public Table<?> plan(String alias) {
        return DSL.table(planTable).as(alias);
    }

    public Name planTable() {
        return planTable;
    }

    /** A column of the tracked table. */
    public static Field<Object> column(String alias, LoggedColumn c) {
        return field(name(alias, c.name()));
    }

    /** A positional column {@code <prefix><N>} of a log or plan relation. */
    public static Field<Object> image(String alias, String prefix, LoggedColumn c) {
        return field(name(alias, prefix + c.position()));
    }

    public List<LoggedColumn> columns() {
        return table.columns();
    }

    public List<LoggedColumn> keys() {
        return table.keyColumns();
    }

    public List<LoggedColumn> columns(Predicate<LoggedColumn> filter) {
        return table.columns().stream().filter(filter).toList();
    }

    /** {@code t.k1 = p.<prefix>k1 AND ...} over the key columns, as the key's index compares them. */
    public Condition keyMatches(String targetAlias, String imageAlias, String prefix) {
        Condition c = noCondition();
        for (LoggedColumn k : keys()) {
            c = c.and(sameKey(k, column(targetAlias, k), image(imageAlias, prefix, k)));
        }
        return c;
    }

    /** {@code a.<prefixA>k = b.<prefixB>k AND ...} between two positional relations, as the key's index compares. */
    public Condition imageKeysMatch(String aliasA, String prefixA, String aliasB, String prefixB) {
        Condition c = noCondition();
        for (LoggedColumn k : keys()) {
            c = c.and(sameKey(k, image(aliasA, prefixA, k), image(aliasB, prefixB, k)));
        }
        return c;
    }

    /** Whether two values of a key column are the same key, by the operator and collation of the key's index. */
    public Condition sameKey(LoggedColumn key, Field<?> a, Field<?> b) {
        return condition("{0} operator({1}) {2}", a, keyword(table.equality(key).operator()), keyValue(key, b));
    }

    /**
     * A key column's value as the key's index tells values apart, to group, partition or order by: under its
     * collation where that is not deterministic (the log's columns have the default collation).
     */
    public Field<?> keyValue(LoggedColumn key, Field<?> value) {
        return table.equality(key).collation()
                .<Field<?>>map(collation -> field("{0} collate {1}", value, keyword(collation)))
                .orElse(value);
    }

    /**
     * Whether two images of the key differ in their bytes, though the key's index may take them for one key
     * ({@code 1.0} and {@code 1.00}, or {@code 'Ab'} and {@code 'AB'} under citext).
     */
    public Condition keyBytesDiffer(String alias, String prefixA, String prefixB) {
        return bytesDiffer(alias, prefixA, prefixB, keys());
    }

    /** Whether two images of the columns differ in their bytes, in one positional relation. */
    public static Condition bytesDiffer(String alias, String prefixA, String prefixB, List<LoggedColumn> columns) {
        List<Field<?>> a = columns.stream().<Field<?>>map(c -> image(alias, prefixA, c)).toList();
        List<Field<?>> b = columns.stream().<Field<?>>map(c -> image(alias, prefixB, c)).toList();
        return condition("cast(row{0} as record) operator(pg_catalog.*<>) cast(row{1} as record)", row(a), row(b));
    }

    /** Whether the target row joined as {@code targetAlias} exists. */
    public Condition present(String targetAlias) {
        return column(targetAlias, keys().get(0)).isNotNull();
    }

    /**
     * Whether the target row equals an image bit for bit ({@code *=} compares the binary images, so it works for
     * every type, including those without an equality operator, and tells {@code 1.0} from {@code 1.00}).
     */
    public Condition rowEqualsImage(String targetAlias, String imageAlias, String prefix) {
        List<Field<?>> current = columns().stream()
                .<Field<?>>map(c -> field("cast({0} as {1})", column(targetAlias, c), keyword(c.type())))
                .toList();
        List<Field<?>> image = columns().stream().<Field<?>>map(c -> image(imageAlias, prefix, c)).toList();
        // cast to record: between two row constructors PostgreSQL would apply the operator column by column
        return condition("cast(row{0} as record) operator(pg_catalog.*=) cast(row{1} as record)", row(current),
                row(image));
    }

    /**
     * Whether the target row is in the state an image describes: equal to it when {@code exists} holds,
     * absent otherwise.
     */
    public Condition inState(String targetAlias, Condition exists, String imageAlias, String prefix) {
        return exists.and(present(targetAlias)).and(rowEqualsImage(targetAlias, imageAlias, prefix))
                .or(exists.not().and(present(targetAlias).not()));
    }
}
