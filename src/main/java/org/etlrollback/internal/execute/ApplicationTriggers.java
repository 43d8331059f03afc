package org.etlrollback.internal.execute;

import static org.jooq.impl.DSL.name;

import java.util.List;
import org.etlrollback.internal.plan.RollbackPlan;
import org.jooq.DSLContext;

/**
 * The application's own triggers on the tables a rollback writes. They are disabled for the rollback's
 * transaction (a restored row must not get a new {@code updated_at}, nor a derived table be adjusted twice: its
 * own changes are rolled back from the log too) and enabled again, as they were, before it commits.
 */
public final class ApplicationTriggers {
    private final DSLContext dsl;
    private final List<Trigger> enabled;

    private record Trigger(String schema, String table, String name, String mode) {
    }

    public ApplicationTriggers(DSLContext dsl, RollbackPlan plan) {
        this.dsl = dsl;
        Long[] relids = plan.tables().stream().map(t -> t.table().relid()).toArray(Long[]::new);
        this.enabled = dsl.resultQuery(
                        "select n.nspname::text, c.relname::text, t.tgname::text, t.tgenabled::text"
                                + " from pg_catalog.pg_trigger t"
                                + " join pg_catalog.pg_class c on c.oid = t.tgrelid"
                                + " join pg_catalog.pg_namespace n on n.oid = c.relnamespace"
                                + " where not t.tgisinternal and t.tgenabled <> 'D'"
                                + " and t.tgname not like 'etl\\_rollback\\_capture\\_%'"
                                + " and coalesce(pg_partition_root(t.tgrelid), t.tgrelid)::bigint = any({0})"
                                + " order by 1, 2, 3",
                        org.jooq.impl.DSL.val(relids))
                .fetch(r -> new Trigger(r.get(0, String.class), r.get(1, String.class), r.get(2, String.class),
                        r.get(3, String.class)));
    }

    public void disable() {
        for (Trigger t : enabled) {
            dsl.execute("alter table {0} disable trigger {1}", name(t.schema(), t.table()), name(t.name()));
        }
    }

    public void restore() {
        for (Trigger t : enabled) {
            String mode = switch (t.mode()) {
                case "A" -> "always ";
                case "R" -> "replica ";
                default -> "";
            };
            dsl.execute("alter table {0} enable " + mode + "trigger {1}", name(t.schema(), t.table()),
                    name(t.name()));
        }
    }
}
