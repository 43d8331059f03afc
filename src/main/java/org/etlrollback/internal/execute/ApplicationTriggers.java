package org.etlrollback.internal.execute;

import static org.jooq.impl.DSL.name;
import static org.jooq.impl.DSL.val;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.etlrollback.internal.changelog.LoggedTable;
import org.jooq.DSLContext;
import org.jooq.Query;

/**
 * The application's own triggers and rules on the tables a rollback writes. They are disabled for the rollback's
 * transaction (a restored row must not get a new {@code updated_at}, nor a derived table be adjusted twice: its
 * own changes are rolled back from the log too; a rule would rewrite the rollback's own statements, a delete into
 * a "soft" one, say) and enabled again, as they were, before it commits.
 *
 * <p>Enabling or disabling a trigger of a partitioned table does the same to its clones on the partitions, so
 * triggers are set back to their modes partitioned tables first, and a clone that was disabled under an enabled
 * trigger is disabled again.
 */
public final class ApplicationTriggers {
    private final DSLContext dsl;
    private final List<Trigger> triggers;
    private final Map<Long, Trigger> byOid = new HashMap<>();
    private final List<Rule> rules;

    private record Trigger(long oid, long parentOid, String schema, String table, String name, String mode) {
    }

    private record Rule(String schema, String table, String name, String mode) {
    }

    public ApplicationTriggers(DSLContext dsl, List<LoggedTable> tables) {
        this.dsl = dsl;
        Long[] relids = tables.stream().map(LoggedTable::relid).toArray(Long[]::new);
        this.triggers = dsl.resultQuery(
                        "select t.oid::bigint, t.tgparentid::bigint,"
                                + " n.nspname::text, c.relname::text, t.tgname::text, t.tgenabled::text"
                                + " from pg_catalog.pg_trigger t"
                                + " join pg_catalog.pg_class c on c.oid = t.tgrelid"
                                + " join pg_catalog.pg_namespace n on n.oid = c.relnamespace"
                                // clones on partitions count as internal before PostgreSQL 15; the triggers of
                                // constraints (foreign keys, deferrable unique keys) are left alone
                                + " where (not t.tgisinternal or t.tgparentid <> 0)"
                                + " and not exists (select from pg_catalog.pg_constraint c"
                                + " where c.oid = t.tgconstraint and c.contype <> 't')"
                                + " and t.tgname not like 'etl\\_rollback\\_capture\\_%'"
                                + " and coalesce(pg_partition_root(t.tgrelid), t.tgrelid)::bigint = any({0})"
                                + " order by (select count(*) from pg_partition_ancestors(t.tgrelid)), 1, 2, 3",
                        val(relids))
                .fetch(r -> new Trigger(r.get(0, Long.class), r.get(1, Long.class), r.get(2, String.class),
                        r.get(3, String.class), r.get(4, String.class), r.get(5, String.class)));
        triggers.forEach(t -> byOid.put(t.oid(), t));
        // rules on INSERT, UPDATE and DELETE of the tables themselves: a statement on a partitioned table is
        // rewritten by its own rules only
        this.rules = dsl.resultQuery(
                        "select n.nspname::text, c.relname::text, r.rulename::text, r.ev_enabled::text"
                                + " from pg_catalog.pg_rewrite r"
                                + " join pg_catalog.pg_class c on c.oid = r.ev_class"
                                + " join pg_catalog.pg_namespace n on n.oid = c.relnamespace"
                                + " where r.ev_type in ('2', '3', '4') and r.ev_enabled <> 'D'"
                                + " and r.ev_class::bigint = any({0})"
                                + " order by 1, 2, 3",
                        val(relids))
                .fetch(r -> new Rule(r.get(0, String.class), r.get(1, String.class), r.get(2, String.class),
                        r.get(3, String.class)));
    }

    /** Disables them for the rollback's transaction. */
    public void disable() {
        disabling().forEach(Query::execute);
    }

    /** Sets them back as they were. */
    public void restore() {
        restoring().forEach(Query::execute);
    }

    /** The statements that disable them, in order. */
    public List<Query> disabling() {
        List<Query> statements = new ArrayList<>();
        for (Trigger t : triggers) {
            if (!"D".equals(t.mode())) {
                statements.add(dsl.query("alter table {0} disable trigger {1}", name(t.schema(), t.table()),
                        name(t.name())));
            }
        }
        for (Rule r : rules) {
            statements.add(dsl.query("alter table {0} disable rule {1}", name(r.schema(), r.table()), name(r.name())));
        }
        return statements;
    }

    /** The statements that set them back as they were, in order. */
    public List<Query> restoring() {
        List<Query> statements = new ArrayList<>();
        for (Trigger t : triggers) {
            if ("D".equals(t.mode()) && !hasEnabledAncestor(t)) {
                continue;
            }
            statements.add(dsl.query("alter table {0} " + enable(t.mode()) + " trigger {1}",
                    name(t.schema(), t.table()), name(t.name())));
        }
        for (Rule r : rules) {
            statements.add(dsl.query("alter table {0} " + enable(r.mode()) + " rule {1}", name(r.schema(), r.table()),
                    name(r.name())));
        }
        return statements;
    }

    /** The words of ALTER TABLE that give a trigger or rule the mode pg_trigger or pg_rewrite shows. */
    private static String enable(String mode) {
        return switch (mode) {
            case "A" -> "enable always";
            case "R" -> "enable replica";
            case "D" -> "disable";
            default -> "enable";
        };
    }

    /** Whether enabling a trigger this one is a clone of (at any level) also enabled this one. */
    private boolean hasEnabledAncestor(Trigger trigger) {
        for (Trigger t = byOid.get(trigger.parentOid()); t != null; t = byOid.get(t.parentOid())) {
            if (!"D".equals(t.mode())) {
                return true;
            }
        }
        return false;
    }
}
