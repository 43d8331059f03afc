package org.etlrollback.internal.plan;

import static org.etlrollback.internal.schema.Tables.MIGRATION;
import static org.etlrollback.internal.schema.Tables.STATEMENT;
import static org.jooq.impl.DSL.condition;
import static org.jooq.impl.DSL.count;
import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.lastValue;
import static org.jooq.impl.DSL.list;
import static org.jooq.impl.DSL.min;
import static org.jooq.impl.DSL.partitionBy;
import static org.jooq.impl.DSL.row;
import static org.jooq.impl.DSL.rowNumber;
import static org.jooq.impl.DSL.inline;
import static org.jooq.impl.DSL.name;
import static org.jooq.impl.DSL.select;
import static org.jooq.impl.DSL.selectOne;
import static org.jooq.impl.DSL.table;
import static org.jooq.impl.DSL.when;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.etlrollback.Conflict;
import org.etlrollback.RollbackResult;
import org.etlrollback.internal.changelog.LoggedColumn;
import org.etlrollback.internal.changelog.LoggedMigration;
import org.etlrollback.internal.changelog.LoggedTable;
import org.jooq.CommonTableExpression;
import org.jooq.Condition;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.Name;
import org.jooq.Record;
import org.jooq.Record3;
import org.jooq.Select;
import org.jooq.SelectFieldOrAsterisk;
import org.jooq.Table;
import org.jooq.WindowSpecification;
import org.jooq.WindowSpecificationRowsStep;

/**
 * Builds a rollback plan inside the current transaction.
 *
 * <p>For each table the migration changed, its log rows in the window are split into sides: the before side of
 * an update, delete or truncate (key and image from {@code o<N>}) and the after side of an insert or update
 * (from {@code n<N>}). A key's first side, in statement order, says whether the row existed before the migration
 * and with what content; its last side says what the migration left. A primary key update thus counts as a delete
 * of one key and an insert of another. Within a statement, the before side of a row that moved its key comes
 * first, as the statement found every such row before it changed any; the other sides follow in the order the
 * statement changed its rows. That order matters where a statement changed a row twice: a foreign key's
 * {@code ON UPDATE} action on its own table adds its changes to the statement that fired it, after the rows it
 * followed from. Each key is then compared with the
 * live row: already in its before-state ({@code done}), as the migration left it ({@code ok}), or changed since
 * ({@code conflict}).
 */
public final class Planner {
    private final DSLContext dsl;
    private final Optional<String> planSchema;

    /** A planner that keeps its plans in temporary tables, dropped when the transaction ends. */
    public Planner(DSLContext dsl) {
        this(dsl, Optional.empty());
    }

    /**
     * @param planSchema where the plan tables go: empty for temporary tables dropped at commit; a schema for
     *                   regular tables, which the caller drops before the transaction ends. PostgreSQL cannot
     *                   prepare (two-phase commit) a transaction that used temporary tables.
     */
    public Planner(DSLContext dsl, Optional<String> planSchema) {
        this.dsl = dsl;
        this.planSchema = planSchema;
    }

    public RollbackPlan plan(LoggedMigration migration, List<LoggedTable> tables, long fromSeq, long uptoSeq) {
        List<LoggedTable> ordered = parentsFirst(tables);
        List<TablePlan> plans = new ArrayList<>();
        List<Conflict> conflicts = new ArrayList<>();
        long conflictCount = 0;
        Family family = new Family(migration.mig());
        for (LoggedTable table : ordered) {
            String planTable = "etl_rollback_plan_" + migration.mig() + "_" + table.tableId();
            TableSql sql = new TableSql(table, planSchema.map(s -> name(s, planTable)).orElse(name(planTable)));
            TablePlan plan = planTable(sql, migration.mig(), fromSeq, uptoSeq, family);
            plans.add(plan);
            conflictCount += plan.conflicts();
            if (plan.conflicts() > 0 && conflicts.size() < RollbackResult.CONFLICTS_LISTED) {
                conflicts.addAll(conflicts(sql, family.migs(), RollbackResult.CONFLICTS_LISTED - conflicts.size()));
            }
        }
        return new RollbackPlan(migration, fromSeq, uptoSeq, plans, conflicts, conflictCount);
    }

    private TablePlan planTable(TableSql sql, int mig, long fromSeq, long uptoSeq, Family family) {
        if (planSchema.isPresent()) {
            dsl.dropTableIfExists(sql.planTable()).execute();
        } else {
            dsl.dropTemporaryTableIfExists(sql.planTable()).execute();
        }

        Table<?> log = sql.log("l");
        Field<Long> stmt = field(name("l", "stmt"), Long.class);
        Field<Long> seq = field(name("l", "seq"), Long.class);
        Condition ofMigration = new LogWindow(mig, fromSeq, uptoSeq).rows(dsl, sql);
        LoggedColumn firstKey = sql.keys().get(0);

        CommonTableExpression<?> sides = name("sides").as(
                select(side(stmt, when(sql.imageKeysMatch("l", "o", "l", "n"), seq).otherwise(inline(0L)), 0, sql,
                        "o")).from(log)
                        .where(ofMigration).and(TableSql.image("l", "o", firstKey).isNotNull())
                        .unionAll(select(side(stmt, seq, 1, sql, "n")).from(log)
                                .where(ofMigration).and(TableSql.image("l", "n", firstKey).isNotNull())));
        // One sort over the sides: per key, its first side (row_number() = 1) carries the before-state, and
        // last_value() over the whole partition the after-state.
        List<Field<?>> keys = sql.keys().stream()
                .<Field<?>>map(k -> sql.keyValue(k, field(name("c" + k.position())))).toList();
        WindowSpecificationRowsStep byKey = partitionBy(keys)
                .orderBy(field(name("stmt")), field(name("ord")), field(name("side")));
        WindowSpecification wholeKey = byKey.rowsBetweenUnboundedPreceding().andUnboundedFollowing();
        List<SelectFieldOrAsterisk> ranked = new ArrayList<>();
        ranked.add(table(name("sides")).asterisk());
        ranked.add(rowNumber().over(byKey).as("rn"));
        ranked.add(lastValue(field(name("stmt"))).over(wholeKey).as("z_stmt"));
        ranked.add(lastValue(field(name("side"))).over(wholeKey).as("z_side"));
        for (LoggedColumn c : sql.columns()) {
            ranked.add(lastValue(field(name("c" + c.position()))).over(wholeKey).as("z" + c.position()));
        }
        CommonTableExpression<?> first = name("f").as(select(ranked).from(table(name("sides"))));

        Condition hadBefore = field(name("f", "side")).eq(inline(0));
        Condition hasAfter = field(name("f", "z_side")).eq(inline(1));
        Condition present = sql.present("t");
        List<SelectFieldOrAsterisk> fields = new ArrayList<>();
        fields.add(field(name("f", "stmt")).as("first_stmt"));
        fields.add(field(name("f", "z_stmt")).as("last_stmt"));
        fields.add(field(hadBefore).as("had_before"));
        fields.add(field(hasAfter).as("has_after"));
        fields.add(field(present).as("present"));
        for (LoggedColumn c : sql.columns()) {
            fields.add(TableSql.image("f", "c", c).as("b" + c.position()));
        }
        fields.add(when(sql.inState("t", hadBefore, "f", "c"), inline("done"))
                .when(sql.inState("t", hasAfter, "f", "z"), inline("ok"))
                .otherwise(inline("conflict")).as("state"));
        fields.add(when(hadBefore, when(present, inline("U")).otherwise(inline("I")))
                .otherwise(when(present, inline("D")).otherwise(inline("-"))).as("action"));

        Select<Record> contents = dsl.with(sides, first)
                .select(fields)
                .from(table(name("f")))
                .leftJoin(sql.target("t")).on(sql.keyMatches("t", "f", "c"))
                .where(field(name("f", "rn")).eq(inline(1)));
        if (planSchema.isPresent()) {
            dsl.createTable(sql.planTable()).as(contents).execute();
        } else {
            dsl.createTemporaryTable(sql.planTable()).as(contents).onCommitDrop().execute();
        }

        Map<String, Long> counts = counts(sql);
        if (counts.keySet().stream().anyMatch(k -> k.startsWith("done:"))
                && laterChangesAreConflicts(sql, family.migs())) {
            counts = counts(sql);
        }
        long unchanged = counts.entrySet().stream().filter(e -> e.getKey().startsWith("done:"))
                .mapToLong(Map.Entry::getValue).sum()
                + counts.getOrDefault("ok:-", 0L);
        long conflicts = counts.entrySet().stream().filter(e -> e.getKey().startsWith("conflict:"))
                .mapToLong(Map.Entry::getValue).sum();
        return new TablePlan(sql.table(), sql.planTable(),
                counts.getOrDefault("ok:D", 0L), counts.getOrDefault("ok:U", 0L), counts.getOrDefault("ok:I", 0L),
                unchanged, conflicts,
                counts.getOrDefault("conflict:D", 0L), counts.getOrDefault("conflict:U", 0L),
                counts.getOrDefault("conflict:I", 0L), identitiesToRestore(sql));
    }

    /**
     * A row back in its before-state is done, unless a migration outside the migration's family (its rollbacks and
     * theirs, which take its own changes back and forth) took the row over from the state the migration left it in:
     * rolling that migration back would bring the migration's change back, with the migration marked rolled back.
     * Such a row is a conflict like any later change, or ok where the migration left it as it found it. A row a later
     * change put back some other way (from a state that migration found, not this one's), or an untagged write that
     * leaves no trace, stays done (see {@link #heldByTheLastChange}). Returns whether it found any.
     */
    private boolean laterChangesAreConflicts(TableSql sql, List<Integer> family) {
        Field<Long> lastStmt = field(name("p", "last_stmt"), Long.class);
        Field<Long> stmt = field(name("y", "stmt"), Long.class);
        Condition done = field(name("p", "state")).eq(inline("done"));
        // a bound the log's index on stmt reads from
        Long earliest = dsl.select(min(lastStmt)).from(sql.plan("p")).where(done)
                .fetchSingle().value1();
        Condition later = stmt.gt(lastStmt).and(stmt.gt(inline(earliest)))
                .and(STATEMENT.STMT.eq(stmt)).and(STATEMENT.MIG.notIn(family));
        List<Field<?>> takenOver = sql.columns().stream().<Field<?>>map(c -> TableSql.image("y", "o", c)).toList();
        List<Field<?>> left = sql.columns().stream().<Field<?>>map(c -> TableSql.image("x", "n", c)).toList();
        List<Field<?>> found = sql.columns().stream().<Field<?>>map(c -> TableSql.image("p", "b", c)).toList();
        // joins that pair every done row with the log in one pass each (hash or merge), however many rows are done:
        // a lookup per row would read the log after it again for each
        String nestLoop = dsl.resultQuery("select current_setting('enable_nestloop')").fetchSingle(0, String.class);
        dsl.execute("set local enable_nestloop = off");
        // the change by which the migration last left the row, and a later change that found it so
        // a row the migration left as it found it is then as the migration left it: ok, as it would be untouched
        int fromWhatItLeft = dsl.update(sql.plan("p"))
                .set(field(name("state"), String.class), when(field(name("p", "had_before"), Boolean.class).isTrue()
                        .and(condition("cast(row{0} as record) operator(pg_catalog.*=) cast(row{1} as record)",
                                row(found), row(left))), inline("ok")).otherwise(inline("taken")))
                .from(sql.log("x"), sql.log("y"), STATEMENT)
                .where(done).and(field(name("p", "has_after"), Boolean.class).isTrue())
                .and(field(name("x", "stmt"), Long.class).eq(lastStmt)).and(sql.imageKeysMatch("x", "n", "p", "b"))
                .and(sql.imageKeysMatch("y", "o", "p", "b")).and(later)
                .and(condition("cast(row{0} as record) operator(pg_catalog.*=) cast(row{1} as record)",
                        row(takenOver), row(left)))
                .execute();
        // a later insert of a row the migration deleted last, or an update that moved another row's key into it
        int intoWhatItDeleted = dsl.update(sql.plan("p"))
                .set(field(name("state"), String.class), when(field(name("p", "had_before"), Boolean.class).isTrue(),
                        inline("taken")).otherwise(inline("ok")))
                .from(sql.log("y"), STATEMENT)
                .where(done).and(field(name("p", "has_after"), Boolean.class).isFalse())
                .and(sql.imageKeysMatch("y", "n", "p", "b"))
                .and(TableSql.image("y", "o", sql.keys().get(0)).isNull()
                        .or(sql.imageKeysMatch("y", "o", "y", "n").not()))
                .and(later)
                .execute();
        if (fromWhatItLeft + intoWhatItDeleted > 0) {
            heldByTheLastChange(sql, family);
        }
        dsl.execute("set local enable_nestloop = " + ("on".equals(nestLoop) ? "on" : "off"));
        return fromWhatItLeft + intoWhatItDeleted > 0;
    }

    /**
     * Of the rows taken over from the state the migration left them in, a conflict each that the last logged change
     * to it, by a migration outside the family, left as it is now: rolling that one back would bring the migration's
     * change back. Where the last change is the family's, or a write with no migration id came after it (the row is
     * not as it left it), the row is done: a rollback of the later migration would find its row changed since.
     */
    private void heldByTheLastChange(TableSql sql, List<Integer> family) {
        Condition taken = field(name("q", "state")).eq(inline("taken"));
        Long earliest = dsl.select(min(field(name("q", "last_stmt"), Long.class))).from(sql.plan("q")).where(taken)
                .fetchSingle().value1();
        Field<Long> stmt = field(name("w", "stmt"), Long.class);
        Condition hadBefore = field(name("q", "had_before"), Boolean.class).isTrue();
        List<Field<?>> leftOfIt = sql.columns().stream().<Field<?>>map(c -> TableSql.image("w", "n", c)).toList();
        List<Field<?>> found = sql.columns().stream().<Field<?>>map(c -> TableSql.image("q", "b", c)).toList();
        // what the change left of the key: its row, where its after-image has the key, else no row
        Condition keepsKey = TableSql.image("w", "n", sql.keys().get(0)).isNotNull()
                .and(sql.imageKeysMatch("w", "n", "q", "b"));
        Field<Boolean> leftAsFound = when(keepsKey, field(hadBefore.and(condition(
                "cast(row{0} as record) operator(pg_catalog.*=) cast(row{1} as record)", row(leftOfIt), row(found)))))
                .otherwise(field(hadBefore.not()));
        List<Select<?>> touches = new ArrayList<>();
        for (String prefix : List.of("o", "n")) {
            touches.add(select(field("{0}.ctid", Object.class, name("q")).as("pid"), stmt.as("stmt"),
                    field(name("w", "seq"), Long.class).as("seq"), leftAsFound.as("left_as_found"),
                    field(STATEMENT.MIG.in(family)).as("family"))
                    .from(sql.plan("q"))
                    .join(sql.log("w")).on(sql.imageKeysMatch("w", prefix, "q", "b"))
                    .join(STATEMENT).on(STATEMENT.STMT.eq(stmt))
                    .where(taken).and(stmt.gt(field(name("q", "last_stmt"), Long.class)))
                    .and(stmt.gt(inline(earliest))));
        }
        dsl.execute("""
                        update {0} as p
                           set state = case when l.family or not l.left_as_found then 'done' else 'conflict' end
                          from (select distinct on (pid) pid, left_as_found, family
                                  from ({1} union all {2}) t order by pid, stmt desc, seq desc) l
                         where p.ctid = l.pid""",
                sql.planTable(), touches.get(0), touches.get(1));
    }

    /** The plan's rows by state and action, e.g. {@code ok:U}. */
    private Map<String, Long> counts(TableSql sql) {
        Field<String> state = field(name("state"), String.class);
        Field<String> action = field(name("action"), String.class);
        Map<String, Long> counts = new HashMap<>();
        for (Record3<String, String, Integer> r : dsl.select(state, action, count()).from(sql.planTable())
                .groupBy(state, action).fetch()) {
            counts.merge(r.value1() + ":" + r.value2(), r.value3().longValue(), Long::sum);
        }
        return counts;
    }

    /**
     * The migration the given one descends from by rollbacks, and every rollback descending from that: looked up
     * once, and only where a table has rows back in their before-state or in conflict.
     */
    private final class Family {
        private final int mig;
        private List<Integer> migs;

        Family(int mig) {
            this.mig = mig;
        }

        List<Integer> migs() {
            if (migs == null) {
                migs = lookUp();
            }
            return migs;
        }

        private List<Integer> lookUp() {
            return dsl.resultQuery("""
                        with recursive up (mig, rollback_of) as (
                            select mig, rollback_of from etl_rollback.migration where mig = {0}
                            union all
                            select m.mig, m.rollback_of from etl_rollback.migration m
                            join up on m.mig = up.rollback_of),
                        family (mig) as (
                            select mig from up where rollback_of is null
                            union all
                            select m.mig from etl_rollback.migration m join family f on m.rollback_of = f.mig)
                        select mig from family""", inline(mig))
                    .fetch(0, Integer.class);
        }
    }

    /**
     * The GENERATED ALWAYS identity columns outside the key that rows to update no longer hold their old values
     * in (a migration can set them to DEFAULT): an UPDATE can write them only while they are BY DEFAULT.
     */
    private List<LoggedColumn> identitiesToRestore(TableSql sql) {
        List<LoggedColumn> identities = new ArrayList<>();
        for (LoggedColumn c : sql.columns(c -> c.identityAlways() && !c.isKey())) {
            if (dsl.fetchExists(selectOne().from(sql.plan("p"))
                    .join(sql.target("t")).on(sql.keyMatches("t", "p", "b"))
                    .where(field(name("p", "action")).eq(inline("U")))
                    .and(field(name("p", "state")).ne(inline("done")))
                    .and(TableSql.image("p", "b", c).isDistinctFrom(TableSql.column("t", c))))) {
                identities.add(c);
            }
        }
        return identities;
    }

    private static List<SelectFieldOrAsterisk> side(Field<Long> stmt, Field<Long> ord, int side, TableSql sql,
                                                    String prefix) {
        List<SelectFieldOrAsterisk> fields = new ArrayList<>();
        fields.add(stmt.as("stmt"));
        fields.add(ord.as("ord"));
        fields.add(inline(side).as("side"));
        for (LoggedColumn c : sql.columns()) {
            fields.add(TableSql.image("l", prefix, c).as("c" + c.position()));
        }
        return fields;
    }

    /**
     * The conflicting rows of one table, each with the migrations that changed its key after the migration's
     * last change to it, but for the migration's family (its rollbacks take its own changes back and forth). A
     * conflict no later tagged change explains is put down to an untagged write.
     */
    private List<Conflict> conflicts(TableSql sql, List<Integer> family, int limit) {
        Table<?> plan = sql.plan("p");
        Field<String> keyJson = keyJson(sql, "p", "b");
        Field<Long> lastStmt = field(name("p", "last_stmt"), Long.class);
        // the conflicts listed: key, the migration's last change to it, and the key's columns
        List<SelectFieldOrAsterisk> columns = new ArrayList<>(List.of(keyJson.as("key"), lastStmt.as("last_stmt")));
        sql.keys().forEach(k -> columns.add(TableSql.image("p", "b", k).as("b" + k.position())));
        Select<?> listed = select(columns).from(plan)
                .where(field(name("p", "state")).eq(inline("conflict")))
                .orderBy(lastStmt, keyJson)
                .limit(inline(limit));
        Map<String, Long> keys = new LinkedHashMap<>();
        dsl.fetch(listed).forEach(r -> keys.put(r.get("key", String.class), r.get("last_stmt", Long.class)));

        // a later change reaches the key through its before-image (update, delete) or its after-image (insert,
        // update): both sides are searched, and the migrations are then put in the order of their changes
        List<Record3<String, String, Long>> laterChanges = new ArrayList<>();
        // later than the earliest of the listed keys' last changes: a bound the log's index can read from
        long after = keys.values().stream().mapToLong(Long::longValue).min().orElse(Long.MAX_VALUE);
        for (String prefix : List.of("o", "n")) {
            Table<?> log = sql.log("l");
            Field<Long> stmt = field(name("l", "stmt"), Long.class);
            laterChanges.addAll(dsl.selectDistinct(keyJson, MIGRATION.MIGRATION_ID, STATEMENT.STMT)
                    .from(plan)
                    .join(log).on(sql.imageKeysMatch("l", prefix, "p", "b"))
                    .and(stmt.gt(lastStmt)).and(stmt.gt(after))
                    .join(STATEMENT).on(STATEMENT.STMT.eq(stmt))
                    .join(MIGRATION).on(MIGRATION.MIG.eq(STATEMENT.MIG))
                    .where(field(name("p", "state")).eq(inline("conflict")))
                    .and(STATEMENT.MIG.notIn(family))
                    .fetch());
        }
        laterChanges.sort(Comparator.comparing(Record3::value3));
        Map<String, Set<String>> later = new HashMap<>();
        laterChanges.forEach(r -> later.computeIfAbsent(r.value1(), k -> new LinkedHashSet<>()).add(r.value2()));
        Set<String> untagged = untaggedSince(sql, listed, after);
        List<Conflict> conflicts = new ArrayList<>();
        for (String key : keys.keySet()) {
            Set<String> by = later.getOrDefault(key, Set.of());
            conflicts.add(new Conflict(sql.table().qualifiedName(), key, List.copyOf(by),
                    by.isEmpty() || untagged.contains(key)));
        }
        return conflicts;
    }

    /**
     * Of the conflicting rows listed, the keys an untagged write changed since the migration's last change to them,
     * as the log shows it: along the logged statements that touched the key from that change on, one found the row
     * otherwise than the one before left it, or the last left it otherwise than it is now.
     */
    private Set<String> untaggedSince(TableSql sql, Select<?> listed, long after) {
        // per statement, the row it found under the key (its first before-image there) and what it left (its last
        // after-image there); a statement with no such image found or left no row
        List<Select<?>> sides = new ArrayList<>();
        for (String prefix : List.of("o", "n")) {
            Field<String> key = field(name("k", "key"), String.class);
            Field<Long> stmt = field(name("l", "stmt"), Long.class);
            Field<Long> seq = field(name("l", "seq"), Long.class);
            List<SelectFieldOrAsterisk> fields = new ArrayList<>(List.of(key.as("key"), stmt.as("stmt"),
                    rowNumber().over(partitionBy(key, stmt).orderBy(prefix.equals("o") ? seq.asc() : seq.desc()))
                            .as("rn")));
            sql.columns().forEach(c -> fields.add(TableSql.image("l", prefix, c).as(prefix + c.position())));
            sides.add(select(fields).from(table(name("k"))).join(sql.log("l"))
                    .on(sql.imageKeysMatch("l", prefix, "k", "b"))
                    .where(stmt.ge(field(name("k", "last_stmt"), Long.class))).and(stmt.ge(inline(after))));
        }
        List<Field<?>> steps = new ArrayList<>();
        List<Field<?>> foundNext = new ArrayList<>();
        List<Field<?>> leftBefore = new ArrayList<>();
        for (LoggedColumn c : sql.columns()) {
            steps.add(TableSql.image("f", "o", c));
            steps.add(TableSql.image("g", "n", c));
            foundNext.add(TableSql.image("b", "o", c));
            leftBefore.add(TableSql.image("a", "n", c));
        }
        Condition asLeft = field(name("z", "left_row"), Boolean.class).isTrue();
        return new HashSet<>(dsl.resultQuery("""
                        with k as ({0}),
                             f as (select * from ({1}) x where rn = 1),
                             g as (select * from ({2}) y where rn = 1),
                             s as (select coalesce(f.key, g.key) as key, f.key is not null as found_row,
                                          g.key is not null as left_row, {3},
                                          row_number() over (partition by coalesce(f.key, g.key)
                                                             order by coalesce(f.stmt, g.stmt)) as i,
                                          count(*) over (partition by coalesce(f.key, g.key)) as n
                                     from f full join g on g.key = f.key and g.stmt = f.stmt)
                        select a.key
                          from s a join s b on b.key = a.key and b.i = a.i + 1
                         where a.left_row <> b.found_row
                            or (a.left_row and not cast(row{4} as record) operator(pg_catalog.*=) cast(row{5} as record))
                        union
                        select z.key
                          from s z
                          join k on k.key = z.key
                          left join {6} as t on {7}
                         where z.i = z.n and not ({8})""",
                        listed, sides.get(0), sides.get(1), list(steps), row(foundNext),
                        row(leftBefore), sql.targetUnaliased(), sql.keyMatches("t", "k", "b"),
                        sql.inState("t", asLeft, "z", "n"))
                .fetch(0, String.class));
    }

    /** The key of a plan row as a JSON object text, e.g. {@code {"id": 20}}. */
    static Field<String> keyJson(TableSql sql, String alias, String prefix) {
        List<Field<?>> args = new ArrayList<>();
        for (LoggedColumn k : sql.keys()) {
            args.add(inline(k.name()));
            args.add(TableSql.image(alias, prefix, k));
        }
        return field("jsonb_build_object({0})::text", String.class, list(args));
    }

    /**
     * The tables ordered parents first along the foreign keys between them; a cycle is broken by OID.
     */
    public List<LoggedTable> parentsFirst(List<LoggedTable> tables) {
        Map<Long, LoggedTable> byRelid = new LinkedHashMap<>();
        tables.stream().sorted(Comparator.comparingLong(LoggedTable::relid)).forEach(t -> byRelid.put(t.relid(), t));
        Long[] relids = byRelid.keySet().toArray(Long[]::new);
        Map<Long, Set<Long>> parents = new HashMap<>();
        for (Record r : dsl.resultQuery(
                "select distinct coalesce(pg_partition_root(c.conrelid), c.conrelid)::bigint,"
                        + " coalesce(pg_partition_root(c.confrelid), c.confrelid)::bigint"
                        + " from pg_catalog.pg_constraint c where c.contype = 'f'")
                .fetch()) {
            long child = r.get(0, Long.class);
            long parent = r.get(1, Long.class);
            if (child != parent && byRelid.containsKey(child) && byRelid.containsKey(parent)) {
                parents.computeIfAbsent(child, k -> new HashSet<>()).add(parent);
            }
        }
        List<LoggedTable> ordered = new ArrayList<>();
        Set<Long> placed = new HashSet<>();
        Deque<Long> pending = new ArrayDeque<>(List.of(relids));
        while (!pending.isEmpty()) {
            boolean progress = false;
            for (int i = pending.size(); i > 0; i--) {
                long relid = pending.removeFirst();
                if (placed.containsAll(parents.getOrDefault(relid, Set.of()))) {
                    ordered.add(byRelid.get(relid));
                    placed.add(relid);
                    progress = true;
                } else {
                    pending.addLast(relid);
                }
            }
            if (!progress) {
                long relid = pending.removeFirst();
                ordered.add(byRelid.get(relid));
                placed.add(relid);
            }
        }
        return ordered;
    }
}
