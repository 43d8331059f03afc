package org.etlrollback.internal.execute;

import static org.jooq.impl.DSL.inline;
import static org.jooq.impl.DSL.name;
import static org.jooq.impl.DSL.val;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.etlrollback.internal.changelog.LoggedTable;
import org.jooq.DSLContext;
import org.jooq.Record;
import org.jooq.ResultQuery;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the sequences of identity and serial columns ahead of the values a rollback inserted back. A migration that
 * emptied a table with {@code TRUNCATE ... RESTART IDENTITY} (or set a sequence back) leaves the sequence among the
 * values of the rows the rollback restores: the application's next insert would draw one of them and fail on the
 * key. Where a sequence stood before is not logged (a sequence is not a row), so the rollback moves a sequence
 * forward only, to the greatest value its column holds (the least, for a descending one), and only where the
 * sequence would hand that value out again. A sequence is not transactional: moved, it stays so even if the
 * rollback fails later, which leaves a gap in its values and nothing else.
 */
public final class Sequences {
    private static final Logger LOG = LoggerFactory.getLogger(Sequences.class);

    private final DSLContext dsl;

    public Sequences(DSLContext dsl) {
        this.dsl = dsl;
    }

    /** A sequence that a column of the table owns (identity or serial), as the role may read and move it or not. */
    private record Owned(String schema, String name, String qualifiedName, String column, boolean ascending,
                         boolean mayMove) {
    }

    /**
     * The statements that move the tables' sequences ahead of their columns' values where needed: each changes one
     * row when it moves its sequence, none otherwise. A sequence the role may not read and move is left, with a
     * warning.
     */
    public List<ResultQuery<Record>> keepingAhead(Collection<LoggedTable> tables) {
        List<ResultQuery<Record>> queries = new ArrayList<>();
        for (LoggedTable table : tables) {
            for (Owned s : ownedBy(table)) {
                if (!s.mayMove()) {
                    LOG.warn("Sequence {} of {} may hand out values of rows the rollback restored: the role may not"
                            + " read and set it (GRANT SELECT, UPDATE ON SEQUENCE)", s.qualifiedName(),
                            table.qualifiedName());
                    continue;
                }
                boolean ascending = s.ascending();
                queries.add(dsl.resultQuery("select {0}, pg_catalog.setval({0}::regclass, x.v)"
                                + " from (select " + (ascending ? "max" : "min") + "({1}) as v from {2}) x, {3} s,"
                                + " pg_catalog.pg_sequence q"
                                + " where q.seqrelid = {0}::regclass"
                                + " and x.v " + (ascending ? ">= " : "<= ")
                                + "case when s.is_called then s.last_value + q.seqincrement else s.last_value end"
                                + " and x.v between q.seqmin and q.seqmax",
                        inline(s.qualifiedName()), name(s.column()), name(table.schema(), table.name()),
                        name(s.schema(), s.name())));
            }
        }
        return queries;
    }

    /** Moves the tables' sequences ahead of their columns' values where needed. */
    public void keepAhead(Collection<LoggedTable> tables) {
        for (ResultQuery<Record> query : keepingAhead(tables)) {
            for (Record moved : query.fetch()) {
                LOG.info("Moved sequence {} to {}, ahead of the values the rollback restored", moved.get(0),
                        moved.get(1));
            }
        }
    }

    private List<Owned> ownedBy(LoggedTable table) {
        return dsl.resultQuery("""
                        select sn.nspname::text, s.relname::text, format('%I.%I', sn.nspname, s.relname),
                               a.attname::text, q.seqincrement > 0,
                               pg_catalog.has_sequence_privilege(s.oid, 'SELECT, UPDATE')
                          from pg_catalog.pg_depend d
                          join pg_catalog.pg_class s on s.oid = d.objid and s.relkind = 'S'
                          join pg_catalog.pg_namespace sn on sn.oid = s.relnamespace
                          join pg_catalog.pg_sequence q on q.seqrelid = s.oid
                          join pg_catalog.pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
                         where d.classid = 'pg_catalog.pg_class'::regclass
                           and d.refclassid = 'pg_catalog.pg_class'::regclass
                           and d.refobjid = {0}::oid and d.deptype in ('a', 'i')
                         order by a.attnum""", val(table.relid()))
                .fetch(r -> new Owned(r.get(0, String.class), r.get(1, String.class), r.get(2, String.class),
                        r.get(3, String.class), r.get(4, Boolean.class), r.get(5, Boolean.class)));
    }
}
