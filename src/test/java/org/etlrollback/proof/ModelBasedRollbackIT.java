package org.etlrollback.proof;

import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import org.etlrollback.ConflictPolicy;
import org.etlrollback.TestDatabase;
import org.etlrollback.proof.RandomSchema.ColumnType;
import org.etlrollback.proof.RandomSchema.DeleteAction;
import org.etlrollback.proof.RandomSchema.Table;
import org.etlrollback.proof.Step.Op;

/**
 * Randomized histories against a model: random schemas, several migrations interleaved with untagged writes of
 * every kind, then rollbacks of random migrations in random order under every conflict policy (with more writes
 * between them). After every rollback the rows, the result and the statuses must be what {@link Model} predicts;
 * at the end, the log must hold what every migration did. A failure prints its seed and the shrunk history with
 * the trace of what ran; docs/testing.md says how to replay it.
 */
@AddLifecycleHook(PropertyKnobs.class)
class ModelBasedRollbackIT {
    private static final TestDatabase DB = TestDatabase.forClass(ModelBasedRollbackIT.class);

    /** A schema, the writes that make the history, and the rollbacks (with a few more writes) that follow. */
    record Scenario(RandomSchema schema, List<Step> history, List<Step> rollbacks) {
        @Override
        public String toString() {
            StringBuilder text = new StringBuilder("\n").append(schema).append('\n');
            history.forEach(s -> text.append("  ").append(s).append('\n'));
            text.append("  --\n");
            rollbacks.forEach(s -> text.append("  ").append(s).append('\n'));
            return text.toString();
        }
    }

    @Property(tries = 150, shrinking = ShrinkingMode.BOUNDED)
    void everyRollbackDoesWhatTheModelPredicts(@ForAll("scenarios") Scenario scenario) throws Exception {
        try (History history = History.start(DB, scenario.schema())) {
            try {
                for (Step step : scenario.history()) {
                    history.run(step);
                }
                for (Step step : scenario.rollbacks()) {
                    history.run(step);
                }
                history.checkLog();
            } catch (AssertionError | RuntimeException e) {
                throw new AssertionError(e.getMessage() + "\n--- trace\n" + history.trace(), e);
            }
        }
    }

    @Provide
    Arbitrary<Scenario> scenarios() {
        Arbitrary<Step> writes = writes();
        Arbitrary<Step> rollbacks = Combinators.combine(Arbitraries.integers().between(0, 20),
                        Arbitraries.of(ConflictPolicy.class), Arbitraries.of(false, true), Arbitraries.of(false, true))
                .as(Step.Rollback::new);
        Arbitrary<List<Step>> history = writes.list().ofMinSize(1).ofMaxSize(24);
        Arbitrary<List<Step>> end = Arbitraries.frequencyOf(List.of(Tuple.of(1, writes), Tuple.of(3, rollbacks)))
                .list().ofMinSize(1).ofMaxSize(8);
        return Combinators.combine(schemas(), history, end).as(Scenario::new);
    }

    private static Arbitrary<RandomSchema> schemas() {
        Arbitrary<List<List<ColumnType>>> payload = Arbitraries.of(ColumnType.class).list().ofMinSize(1).ofMaxSize(3)
                .list().ofSize(Table.values().length);
        return Combinators.combine(payload, Arbitraries.of(DeleteAction.class), Arbitraries.of(DeleteAction.class),
                        Arbitraries.of(false, true), Arbitraries.of(false, true), Arbitraries.of(false, true),
                        Arbitraries.integers().between(0, 1000))
                .as(RandomSchema::new);
    }

    private static Arbitrary<Step> writes() {
        Arbitrary<Table> tables = Arbitraries.of(Table.class);
        Arbitrary<Integer> rows = Arbitraries.integers().between(1, 5);
        Arbitrary<Integer> seeds = Arbitraries.integers().between(0, 1_000_000);
        Arbitrary<Op> insert = Combinators.combine(tables, rows, Arbitraries.of(false, true), seeds)
                .as(Step.Insert::new);
        Arbitrary<Op> update = Combinators.combine(tables, rows, Arbitraries.of(false, true), seeds)
                .as(Step.Update::new);
        Arbitrary<Op> moveKey = Combinators.combine(tables, Arbitraries.integers().between(1, 3), seeds)
                .as(Step.MoveKey::new);
        Arbitrary<Op> delete = Combinators.combine(tables, rows, seeds).as(Step.Delete::new);
        Arbitrary<Op> upsert = Combinators.combine(tables, rows, seeds).as(Step.Upsert::new);
        Arbitrary<Op> truncate = tables.map(Step.Truncate::new);
        Arbitrary<Op> revert = Combinators.combine(tables, seeds).as(Step.Revert::new);
        Arbitrary<Op> ops = Arbitraries.frequencyOf(List.of(Tuple.of(5, insert), Tuple.of(5, update),
                Tuple.of(2, moveKey), Tuple.of(3, delete), Tuple.of(2, upsert), Tuple.of(1, truncate),
                Tuple.of(3, revert)));
        // session 0 is untagged; tagged writes are more frequent, so that migrations have something to undo
        return Combinators.combine(Arbitraries.frequency(List.of(Tuple.of(2, 0), Tuple.of(2, 1),
                Tuple.of(2, 2), Tuple.of(1, 3))), ops).as(Step.Write::new);
    }
}
