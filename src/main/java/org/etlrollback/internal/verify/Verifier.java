package org.etlrollback.internal.verify;

import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.inline;
import static org.jooq.impl.DSL.name;
import static org.jooq.impl.DSL.not;

import java.util.Optional;
import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollbackException;
import org.etlrollback.internal.plan.RollbackPlan;
import org.etlrollback.internal.plan.TablePlan;
import org.etlrollback.internal.plan.TableSql;
import org.jooq.Condition;
import org.jooq.DSLContext;

/**
 * Checks, before commit, that every row a rollback restored equals its before-image bit for bit, or is absent
 * where the migration had inserted it.
 */
public final class Verifier {
    private final DSLContext dsl;

    public Verifier(DSLContext dsl) {
        this.dsl = dsl;
    }

    public void verify(RollbackPlan plan, boolean restoreConflicts) {
        difference(plan, restoreConflicts).ifPresent(difference -> {
            throw new EtlRollbackException(ErrorCode.FAILED, "verification of the rollback of "
                    + plan.migration().migrationId() + " failed: " + difference + "; nothing was committed");
        });
    }

    /** The first table with rows the rollback should have restored that differ from their before-image, described. */
    public Optional<String> difference(RollbackPlan plan, boolean restoreConflicts) {
        Condition states = restoreConflicts
                ? field(name("p", "state")).in(inline("ok"), inline("conflict"), inline("done"))
                : field(name("p", "state")).in(inline("ok"), inline("done"));
        for (TablePlan t : plan.tables()) {
            TableSql sql = new TableSql(t.table(), t.planTable());
            Condition restored = sql.inState("t", field(name("p", "had_before"), Boolean.class).isTrue(), "p", "b");
            int differing = dsl.fetchCount(dsl.selectOne().from(sql.plan("p"))
                    .leftJoin(sql.target("t")).on(sql.keyMatches("t", "p", "b"))
                    .where(states).and(not(restored)));
            if (differing > 0) {
                return Optional.of(differing + " row(s) of " + t.table().qualifiedName()
                        + " differ from their before-image");
            }
        }
        return Optional.empty();
    }
}
