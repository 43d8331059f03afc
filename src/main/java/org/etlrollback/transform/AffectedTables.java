package org.etlrollback.transform;

import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.val;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jooq.DSLContext;

/**
 * What the catalog says about the tables a transformer declares: which do not exist, which are not tracked, and
 * which untracked tables are tied to them by foreign keys. Reads only {@code pg_catalog}, which every role may read:
 * a table is tracked when its capture triggers are in place and enabled.
 *
 * @param resolved            each declared name as PostgreSQL names the table (quoted where needed)
 * @param missing             declared names that name no table
 * @param untracked           tables whose changes would not be logged
 * @param untrackedReferenced per table, the untracked tables its foreign keys reference
 * @param untrackedCascading  per table, the untracked tables whose foreign keys to it cascade (or set null or a
 *                            default): a change of the table changes them, unlogged
 */
record AffectedTables(Map<String, String> resolved, List<String> missing, List<String> untracked,
                      Map<String, Set<String>> untrackedReferenced, Map<String, Set<String>> untrackedCascading) {

    static AffectedTables inspect(DSLContext dsl, List<String> declared) {
        Map<String, String> resolved = new LinkedHashMap<>();
        List<String> missing = new ArrayList<>();
        List<String> untracked = new ArrayList<>();
        Map<String, Set<String>> referenced = new LinkedHashMap<>();
        Map<String, Set<String>> cascading = new LinkedHashMap<>();
        for (String name : declared) {
            String table = dsl.select(field("to_regclass({0})::text", String.class, val(name))).fetchSingle().value1();
            if (table == null) {
                missing.add(name);
                continue;
            }
            resolved.put(name, table);
            if (!isTracked(dsl, table)) {
                untracked.add(table);
            }
        }
        Set<String> tables = new LinkedHashSet<>(resolved.values());
        for (String table : tables) {
            Set<String> parents = untrackedOf(dsl, referencedBy(dsl, table), tables);
            if (!parents.isEmpty()) {
                referenced.put(table, parents);
            }
            Set<String> children = untrackedOf(dsl, cascadingTo(dsl, table), tables);
            if (!children.isEmpty()) {
                cascading.put(table, children);
            }
        }
        return new AffectedTables(resolved, missing, untracked, referenced, cascading);
    }

    /** Whether the table's insert, update and delete capture triggers exist and are enabled. */
    static boolean isTracked(DSLContext dsl, String table) {
        return dsl.fetchValue(dsl.selectCount().from("pg_catalog.pg_trigger")
                .where("tgrelid = to_regclass({0})", val(table))
                .and("tgname in ('etl_rollback_capture_i', 'etl_rollback_capture_u', 'etl_rollback_capture_d')")
                .and("tgenabled <> 'D'")) == 3;
    }

    /** The other tables the table's (top-level) foreign keys reference. */
    private static List<String> referencedBy(DSLContext dsl, String table) {
        return dsl.resultQuery("select distinct c.confrelid::regclass::text from pg_catalog.pg_constraint c"
                        + " where c.contype = 'f' and c.conparentid = 0 and c.conrelid = to_regclass({0})"
                        + " and c.confrelid <> c.conrelid order by 1", val(table))
                .fetch(0, String.class);
    }

    /** The other tables whose foreign keys to the table cascade, or set null or a default, on delete or update. */
    private static List<String> cascadingTo(DSLContext dsl, String table) {
        return dsl.resultQuery("select distinct c.conrelid::regclass::text from pg_catalog.pg_constraint c"
                        + " where c.contype = 'f' and c.conparentid = 0 and c.confrelid = to_regclass({0})"
                        + " and c.confrelid <> c.conrelid"
                        + " and (c.confdeltype in ('c', 'n', 'd') or c.confupdtype in ('c', 'n', 'd')) order by 1",
                        val(table))
                .fetch(0, String.class);
    }

    private static Set<String> untrackedOf(DSLContext dsl, List<String> candidates, Set<String> declared) {
        Set<String> untracked = new LinkedHashSet<>();
        for (String candidate : candidates) {
            // a declared table that is not tracked is refused on its own
            if (!declared.contains(candidate) && !isTracked(dsl, candidate)) {
                untracked.add(candidate);
            }
        }
        return untracked;
    }
}
