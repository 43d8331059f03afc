package org.etlrollback.internal.database;

import static org.jooq.impl.DSL.val;

import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.jooq.DSLContext;

/**
 * A foreign key of the catalog, partitioned tables by their root.
 *
 * @param name              the constraint's name
 * @param schema            schema of the referring table
 * @param table             name of the referring table
 * @param qualifiedName     the referring table, schema-qualified and quoted where needed
 * @param relid             OID of the referring table
 * @param referencedRelid   OID of the referenced table
 * @param onDelete          its ON DELETE action ({@code ON DELETE CASCADE}, {@code SET NULL}, {@code SET DEFAULT}),
 *                          if it has one
 * @param onUpdate          its ON UPDATE action, if it has one
 * @param columns           the referring columns
 * @param referencedColumns the referenced columns, in the same order
 * @param equalities        the operators that compare them, schema-qualified, in the same order
 */
public record ForeignKey(String name, String schema, String table, String qualifiedName, long relid,
                         long referencedRelid, Optional<String> onDelete, Optional<String> onUpdate,
                         List<String> columns, List<String> referencedColumns, List<String> equalities) {

    public ForeignKey {
        columns = List.copyOf(columns);
        referencedColumns = List.copyOf(referencedColumns);
        equalities = List.copyOf(equalities);
    }

    /** Whether deleting a referenced row, or changing a referenced value, changes the referring rows too. */
    public boolean hasAction() {
        return onDelete.isPresent() || onUpdate.isPresent();
    }

    /** Its actions, e.g. {@code ON DELETE CASCADE, ON UPDATE SET NULL}. */
    public String actions() {
        return Stream.of(onDelete, onUpdate).flatMap(Optional::stream).collect(Collectors.joining(", "));
    }

    /** The foreign keys that refer to one of the tables, by name. */
    public static List<ForeignKey> referringTo(DSLContext dsl, List<Long> relids) {
        return dsl.resultQuery("""
                        select c.conname::text, n.nspname::text, r.relname::text, format('%I.%I', n.nspname, r.relname),
                               coalesce(pg_partition_root(c.conrelid), c.conrelid)::bigint,
                               coalesce(pg_partition_root(c.confrelid), c.confrelid)::bigint,
                               case c.confdeltype when 'c' then 'ON DELETE CASCADE' when 'n' then 'ON DELETE SET NULL'
                                                  when 'd' then 'ON DELETE SET DEFAULT' end,
                               case c.confupdtype when 'c' then 'ON UPDATE CASCADE' when 'n' then 'ON UPDATE SET NULL'
                                                  when 'd' then 'ON UPDATE SET DEFAULT' end,
                               array(select a.attname::text from unnest(c.conkey) with ordinality k(attnum, ord)
                                       join pg_catalog.pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.attnum
                                      order by k.ord),
                               array(select a.attname::text from unnest(c.confkey) with ordinality k(attnum, ord)
                                       join pg_catalog.pg_attribute a on a.attrelid = c.confrelid and a.attnum = k.attnum
                                      order by k.ord),
                               array(select format('%I.%s', opn.nspname, op.oprname)
                                       from unnest(c.conpfeqop) with ordinality k(opr, ord)
                                       join pg_catalog.pg_operator op on op.oid = k.opr
                                       join pg_catalog.pg_namespace opn on opn.oid = op.oprnamespace
                                      order by k.ord)
                          from pg_catalog.pg_constraint c
                          join pg_catalog.pg_class r on r.oid = coalesce(pg_partition_root(c.conrelid), c.conrelid)
                          join pg_catalog.pg_namespace n on n.oid = r.relnamespace
                         where c.contype = 'f' and c.conparentid = 0
                           and coalesce(pg_partition_root(c.confrelid), c.confrelid)::bigint = any({0})
                         order by 1, 4""", val(relids.toArray(Long[]::new)))
                .fetch(r -> new ForeignKey(r.get(0, String.class), r.get(1, String.class), r.get(2, String.class),
                        r.get(3, String.class), r.get(4, Long.class), r.get(5, Long.class),
                        Optional.ofNullable(r.get(6, String.class)), Optional.ofNullable(r.get(7, String.class)),
                        List.of(r.get(8, String[].class)), List.of(r.get(9, String[].class)),
                        List.of(r.get(10, String[].class))));
    }
}
