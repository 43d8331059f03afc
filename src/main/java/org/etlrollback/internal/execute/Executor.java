package org.etlrollback.internal.execute;

import static org.etlrollback.internal.schema.Tables.STATEMENT;
import static org.jooq.impl.DSL.count;
import static org.jooq.impl.DSL.exists;
import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.inline;
import static org.jooq.impl.DSL.list;
import static org.jooq.impl.DSL.name;
import static org.jooq.impl.DSL.not;
import static org.jooq.impl.DSL.select;
import static org.jooq.impl.DSL.selectOne;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollbackException;
import org.etlrollback.RollbackProgress;
import org.etlrollback.internal.changelog.LoggedColumn;
import org.etlrollback.internal.plan.LogWindow;
import org.etlrollback.internal.plan.RollbackPlan;
import org.etlrollback.internal.plan.TablePlan;
import org.etlrollback.internal.plan.TableSql;
import org.etlrollback.internal.verify.Verifier;
import org.jooq.Condition;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.Query;
import org.jooq.Record3;
import org.jooq.exception.DataAccessException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Carries out a plan, set-based: per table one DELETE, one UPDATE and one INSERT joined with the plan.
 *
 * <p>Deletes run children first, updates and inserts parents first. If that order breaks a constraint (a child
 * re-pointed at a row the migration inserted, a unique value moved between rows), or an update misses rows it
 * should restore (a delete cascaded to a child the migration re-pointed at a row it inserted), the other orders of
 * deletes, updates and inserts are tried, and where no set-based order exists the inverse of each logged statement
 * is replayed, newest first, as the migration's own statements once passed every constraint in the opposite order.
 *
 * <p>Before any of that, a plan whose deletes (or changes of referenced values) would fire a foreign key's ON DELETE
 * or ON UPDATE action on rows it does not restore is refused: see {@link ForeignKeyActions}.
 */
public final class Executor {
    private static final Logger LOG = LoggerFactory.getLogger(Executor.class);

    /**
     * The set-based orders, tried in turn: deletes, updates, inserts; inserts first, then updates and deletes;
     * updates first (rows re-pointed away from rows the rollback deletes, unique values freed, before the rows that
     * take them back are inserted); updates last (rows re-pointed at rows inserted again, in keys deletes freed).
     */
    public static final List<String> ORDERS = List.of("DUI", "IUD", "UDI", "DIU");

    private final DSLContext dsl;
    private final Connection connection;

    public Executor(DSLContext dsl, Connection connection) {
        this.dsl = dsl;
        this.connection = connection;
    }

    /** Whether the plan ran set-based ({@code false}) or had to be replayed statement by statement. */
    public boolean execute(RollbackPlan plan, boolean restoreConflicts, RollbackProgress progress) {
        Attempts attempts = firstOrder(plan, restoreConflicts, progress);
        if (attempts.order().isPresent()) {
            return false;
        }
        LOG.info("Rollback of {}: no set-based order satisfies the constraints; replaying statement by statement",
                plan.migration().migrationId());
        long planned = plan.rows(restoreConflicts);
        replay(plan, restoreConflicts, planned, progress);
        // an inverse statement finds only the rows as the migration left them: one that moved a key can miss a row
        // that changed or went since, where the set-based order would have restored it
        String unrestored = new Verifier(dsl).difference(plan, restoreConflicts).orElse(null);
        if (unrestored != null) {
            throw new EtlRollbackException(ErrorCode.FAILED, "rollback of " + plan.migration().migrationId()
                    + " failed: no set-based order satisfies the constraints (" + attempts.lastFailure()
                    + "), and replaying its statements does not restore every row (" + unrestored + ")."
                    + " Nothing was changed.");
        }
        return true;
    }

    /**
     * The first order that carries the plan out set-based, tried and then undone, for a script to write its
     * statements in; empty where only a replay would (the script then keeps the first order, and stops where it
     * fails).
     */
    public Optional<String> workingOrder(RollbackPlan plan, boolean restoreConflicts) {
        Savepoint tried = savepoint();
        try {
            return firstOrder(plan, restoreConflicts, RollbackProgress.NONE).order();
        } finally {
            rollbackTo(tried);
        }
    }

    /** The orders tried: the first that carried the plan out, whose changes stay, or why the last one failed. */
    private record Attempts(Optional<String> order, String lastFailure) {
    }

    private Attempts firstOrder(RollbackPlan plan, boolean restoreConflicts, RollbackProgress progress) {
        new ForeignKeyActions(dsl).check(plan, restoreConflicts);
        long planned = plan.rows(restoreConflicts);
        Condition states = restoreConflicts
                ? field(name("p", "state")).in(inline("ok"), inline("conflict"))
                : field(name("p", "state")).eq(inline("ok"));
        Supplier<Optional<String>> actionsDamage = actionsDamage(plan, restoreConflicts);
        String failure = null;
        for (String order : ORDERS) {
            failure = attempt(steps(order, plan, states, restoreConflicts), planned, progress, actionsDamage);
            if (failure == null) {
                return new Attempts(Optional.of(order), null);
            }
        }
        return new Attempts(Optional.empty(), failure);
    }

    /** One statement of an order; {@code rows} is how many rows it must change, or -1 when that may vary. */
    private record Step(String description, Query query, long rows) {
    }

    /**
     * The statements of an order: per letter, the deletes (D, children first), updates (U) or inserts (I, parents
     * first) of every table.
     */
    private List<Step> steps(String order, RollbackPlan plan, Condition states, boolean restoreConflicts) {
        List<Step> steps = new ArrayList<>();
        for (char group : order.toCharArray()) {
            switch (group) {
                case 'D' -> plan.childrenFirst().forEach(t -> steps.add(delete(t, states)));
                case 'U' -> plan.tables().forEach(t -> update(t, states, restoreConflicts, steps));
                default -> plan.tables().forEach(t -> steps.add(insert(t, states, restoreConflicts)));
            }
        }
        return steps;
    }

    /**
     * Where a foreign key with an action refers to one of the plan's tables, the check that an order left every row
     * it restored as planned: the action may have changed a row restored before, or after, the statement that fired
     * it, where another order would not. Else a check that finds nothing.
     */
    private Supplier<Optional<String>> actionsDamage(RollbackPlan plan, boolean restoreConflicts) {
        if (!ForeignKeyActions.anyReferring(dsl, plan.tables().stream().map(TablePlan::table).toList())) {
            return Optional::empty;
        }
        return () -> new Verifier(dsl).difference(plan, restoreConflicts)
                .map(difference -> "a foreign key's action changed rows it restored: " + difference);
    }

    /**
     * Runs an order of steps, then {@code afterwards}; null when both succeeded, else why it failed (and then it
     * changed nothing).
     */
    private String attempt(List<Step> steps, long planned, RollbackProgress progress,
                           Supplier<Optional<String>> afterwards) {
        Savepoint savepoint = savepoint();
        long done = 0;
        try {
            for (Step step : steps) {
                int rows = step.query().execute();
                if (step.rows() >= 0 && rows != step.rows()) {
                    // a delete cascaded to rows this step restores: they are gone, and the order is wrong
                    LOG.debug("Order failed: {} changed {} row(s) instead of {}, trying the next", step.description(),
                            rows, step.rows());
                    rollbackTo(savepoint);
                    return step.description() + " changed " + rows + " row(s) instead of " + step.rows();
                }
                done += rows;
                progress.update(step.description(), done, planned);
            }
            Optional<String> damage = afterwards.get();
            if (damage.isPresent()) {
                LOG.debug("Order failed: {}, trying the next", damage.get());
                rollbackTo(savepoint);
                return damage.get();
            }
            release(savepoint);
            return null;
        } catch (DataAccessException e) {
            if (!isConstraintViolation(e)) {
                throw e;
            }
            LOG.debug("Order failed at a constraint, trying the next: {}", e.getMessage());
            rollbackTo(savepoint);
            return rootMessage(e).strip();
        }
    }

    /** Deletes may find fewer rows than planned: a row a cascade deleted first is gone as it should be. */
    private Step delete(TablePlan t, Condition states) {
        TableSql sql = new TableSql(t.table(), t.planTable());
        return new Step("delete " + t.table().qualifiedName(),
                dsl.deleteFrom(sql.target("t")).using(sql.plan("p"))
                        .where(states).and(field(name("p", "action")).eq(inline("D")))
                        .and(sql.keyMatches("t", "p", "b")), -1);
    }

    private void update(TablePlan t, Condition states, boolean restoreConflicts, List<Step> steps) {
        TableSql sql = new TableSql(t.table(), t.planTable());
        // the key too: its index may take the key as it is now for the one before, though their bytes differ
        List<LoggedColumn> set = sql.columns(t::restores);
        if (set.isEmpty()) {
            return;
        }
        Map<Field<?>, Field<?>> values = new LinkedHashMap<>();
        set.forEach(c -> values.put(field(name(c.name())), TableSql.image("p", "b", c)));
        steps.addAll(identityGeneration(t, "by default"));
        steps.add(new Step("update " + t.table().qualifiedName(),
                dsl.update(sql.target("t")).set(values).from(sql.plan("p"))
                        .where(states).and(field(name("p", "action")).eq(inline("U")))
                        .and(sql.keyMatches("t", "p", "b")),
                t.outcome(restoreConflicts).updated()));
        steps.addAll(identityGeneration(t, "always"));
    }

    /** Makes the identity columns the plan restores GENERATED ALWAYS or BY DEFAULT. */
    private List<Step> identityGeneration(TablePlan t, String generated) {
        TableSql sql = new TableSql(t.table(), t.planTable());
        return t.identitiesToRestore().stream()
                .map(c -> new Step("identity " + c.name() + " of " + t.table().qualifiedName() + " " + generated,
                        dsl.query("alter table {0} alter column {1} set generated " + generated,
                                sql.targetUnaliased(), name(c.name())), -1))
                .toList();
    }

    private Step insert(TablePlan t, Condition states, boolean restoreConflicts) {
        TableSql sql = new TableSql(t.table(), t.planTable());
        List<LoggedColumn> cols = sql.columns(LoggedColumn::isWritable);
        return new Step("insert " + t.table().qualifiedName(), insertQuery(dsl, sql, cols,
                select(cols.stream().map(c -> TableSql.image("p", "b", c)).toList())
                        .from(sql.plan("p"))
                        .where(states).and(field(name("p", "action")).eq(inline("I")))),
                t.outcome(restoreConflicts).inserted());
    }

    static Query insertQuery(DSLContext dsl, TableSql sql, List<LoggedColumn> cols, org.jooq.Select<?> rows) {
        List<Field<?>> names = cols.stream().<Field<?>>map(c -> field(name(c.name()))).toList();
        // identity columns GENERATED ALWAYS take their old values only with OVERRIDING SYSTEM VALUE
        String overriding = sql.table().hasIdentityAlways() ? " overriding system value " : " ";
        return dsl.query("insert into {0} ({1})" + overriding + "{2}", sql.targetUnaliased(), list(names), rows);
    }

    /**
     * Applies the inverse of each logged statement of the migration in the window, newest first. The inverse of an
     * update that breaks a unique key runs again one row at a time, the row the statement changed last first: a
     * unique key that is not deferrable is checked row by row, and a statement that moved a value from one row to
     * another passed only in the order it changed them.
     */
    private void replay(RollbackPlan plan, boolean restoreConflicts, long planned, RollbackProgress progress) {
        Map<Integer, TablePlan> byTable = new LinkedHashMap<>();
        plan.tables().forEach(t -> byTable.put(t.table().tableId(), t));
        List<String> allowed = restoreConflicts ? List.of("ok", "conflict") : List.of("ok");
        plan.tables().forEach(t -> identityGeneration(t, "by default").forEach(step -> step.query().execute()));
        Set<Long> changedARowTwice = new HashSet<>();
        plan.tables().forEach(t -> changedARowTwice.addAll(statementsThatChangedARowTwice(plan, t)));
        long done = 0;
        for (Record3<Long, Integer, String> s : dsl.select(STATEMENT.STMT, STATEMENT.TABLE_ID, STATEMENT.OP)
                .from(STATEMENT)
                .where(STATEMENT.MIG.eq(plan.migration().mig()))
                .and(STATEMENT.STMT.gt(plan.fromSeq())).and(STATEMENT.STMT.le(plan.uptoSeq()))
                .orderBy(STATEMENT.STMT.desc())
                .fetch()) {
            TablePlan t = byTable.get(s.value2());
            TableSql sql = new TableSql(t.table(), t.planTable());
            Field<Long> stmt = field(name("l", "stmt"), Long.class);
            Field<Long> seq = field(name("l", "seq"), Long.class);
            Condition ofStatement = stmt.eq(s.value1());
            boolean rowByRow = "U".equals(s.value3()) && changedARowTwice.contains(s.value1());
            if (!rowByRow) {
                Savepoint savepoint = savepoint();
                try {
                    done += inverse(t, sql, s.value3(), ofStatement, allowed).execute();
                    release(savepoint);
                } catch (DataAccessException e) {
                    if (!"U".equals(s.value3()) || !"23505".equals(e.sqlState())) {
                        throw replayFailed(plan, t, e);
                    }
                    rollbackTo(savepoint);
                    rowByRow = true;
                }
            }
            if (rowByRow) {
                for (Long row : dsl.select(seq).from(sql.log("l")).where(ofStatement).orderBy(seq.desc())
                        .fetch(seq)) {
                    try {
                        done += inverse(t, sql, "U", ofStatement.and(seq.eq(row)), allowed).execute();
                    } catch (DataAccessException rowFailed) {
                        throw replayFailed(plan, t, rowFailed);
                    }
                }
            }
            progress.update("replay " + t.table().qualifiedName(), Math.min(done, planned), planned);
        }
        plan.tables().forEach(t -> identityGeneration(t, "always").forEach(step -> step.query().execute()));
    }

    /** The inverse of the log rows of one statement (I, U, D or T) that {@code rows} selects. */
    private Query inverse(TablePlan t, TableSql sql, String op, Condition rows, List<String> allowed) {
        return switch (op) {
            case "I" -> dsl.deleteFrom(sql.target("t")).using(sql.log("l"))
                    .where(rows).and(sql.keyMatches("t", "l", "n"))
                    .and(restorable(sql, "n", allowed));
            case "U" -> {
                Map<Field<?>, Field<?>> values = new LinkedHashMap<>();
                sql.columns(t::restores).forEach(c -> values.put(field(name(c.name())), TableSql.image("l", "o", c)));
                yield dsl.update(sql.target("t")).set(values).from(sql.log("l"))
                        .where(rows).and(sql.keyMatches("t", "l", "n"))
                        .and(restorable(sql, "o", allowed)).and(restorable(sql, "n", allowed));
            }
            default -> {
                List<LoggedColumn> cols = sql.columns(LoggedColumn::isWritable);
                yield insertQuery(dsl, sql, cols, select(cols.stream().map(c -> TableSql.image("l", "o", c)).toList())
                        .from(sql.log("l")).where(rows).and(restorable(sql, "o", allowed)));
            }
        };
    }

    /**
     * The statements of the migration in the plan's window that changed a row of the table twice, which a foreign
     * key's ON UPDATE action on the table's own rows does: an update joined with all of such a statement's log rows
     * would pick one of the row's changes at random.
     */
    private Set<Long> statementsThatChangedARowTwice(RollbackPlan plan, TablePlan t) {
        TableSql sql = new TableSql(t.table(), t.planTable());
        Field<Long> stmt = field(name("l", "stmt"), Long.class);
        List<Field<?>> byRow = new ArrayList<>();
        byRow.add(stmt);
        sql.keys().forEach(k -> byRow.add(sql.keyValue(k, TableSql.image("l", "n", k))));
        return new HashSet<>(dsl.selectDistinct(stmt).from(sql.log("l"))
                .where(new LogWindow(plan.migration().mig(), plan.fromSeq(), plan.uptoSeq()).rows(dsl, sql))
                .groupBy(byRow).having(count().gt(inline(1)))
                .fetch(stmt));
    }

    private static EtlRollbackException replayFailed(RollbackPlan plan, TablePlan t, DataAccessException e) {
        return new EtlRollbackException(ErrorCode.FAILED, "rollback of " + plan.migration().migrationId()
                + " failed: neither a set-based order nor replaying its statements satisfies the constraints"
                + " of " + t.table().qualifiedName() + " (" + rootMessage(e) + "). Nothing was changed.", e);
    }

    /** The log row's key (on the given side) belongs to a plan row that is restored. */
    private static Condition restorable(TableSql sql, String prefix, List<String> allowed) {
        Condition sameKey = sql.imageKeysMatch("p", "b", "l", prefix);
        Condition keyAbsent = TableSql.image("l", prefix, sql.keys().get(0)).isNull();
        return keyAbsent.or(not(exists(selectOne().from(sql.plan("p"))
                .where(sameKey).and(field(name("p", "state"), String.class).notIn(allowed)))));
    }

    static boolean isConstraintViolation(DataAccessException e) {
        String state = e.sqlState();
        return state != null && state.startsWith("23");
    }

    static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getMessage();
    }

    // a savepoint that fails (the connection went) fails the rollback like any statement: the Reverser says which
    // rollback failed and that nothing was changed
    private Savepoint savepoint() {
        try {
            return connection.setSavepoint();
        } catch (SQLException e) {
            throw new DataAccessException("could not set a savepoint", e);
        }
    }

    private void release(Savepoint savepoint) {
        try {
            connection.releaseSavepoint(savepoint);
        } catch (SQLException e) {
            throw new DataAccessException("could not release a savepoint", e);
        }
    }

    private void rollbackTo(Savepoint savepoint) {
        try {
            connection.rollback(savepoint);
        } catch (SQLException e) {
            throw new DataAccessException("could not roll back to a savepoint", e);
        }
    }
}
