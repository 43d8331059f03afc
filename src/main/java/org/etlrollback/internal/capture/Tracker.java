package org.etlrollback.internal.capture;

import static org.jooq.impl.DSL.function;
import static org.jooq.impl.DSL.name;
import static org.jooq.impl.DSL.val;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;

import org.etlrollback.TrackResult;
import org.etlrollback.UntrackResult;
import org.etlrollback.internal.database.Database;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.SQLDialect;
import org.jooq.exception.DataAccessException;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts and stops the logging of tables, through the SQL functions {@code etl_rollback.track}
 * and {@code etl_rollback.untrack}. Several tables are tracked or untracked in one transaction:
 * all of them or none.
 */
public final class Tracker {
    private static final Logger LOG = LoggerFactory.getLogger(Tracker.class);

    private final Database database;

    public Tracker(Database database) {
        this.database = database;
    }

    /** Tracks the tables (names as in SQL, e.g. {@code public.customers}); returns their qualified names. */
    public TrackResult track(List<String> tables) {
        List<String> warnings = new ArrayList<>();
        List<String> tracked = callForEach("track", tables, "Nothing was tracked.",
                (dsl, names) -> warnings.addAll(untrackedReferringTables(dsl, names)));
        LOG.info("Tracking {} in {}", String.join(", ", tracked), database.description());
        warnings.forEach(LOG::warn);
        return new TrackResult(tracked, warnings);
    }

    /**
     * The tables not tracked that refer to one of the tracked ones by a foreign key with an action, one sentence
     * each: a tagged delete (or change of a referenced value) fires the action on their rows, and nothing logs that.
     */
    private static List<String> untrackedReferringTables(DSLContext dsl, List<String> tracked) {
        // the rest of the transaction only reads the catalog: every name resolved in pg_catalog
        Database.pinSearchPath(dsl);
        return dsl.resultQuery("""
                        select format('%I.%I', n.nspname, r.relname) || ' refers to ' || t.table_name
                               || ' by foreign key ' || quote_ident(c.conname) || ' ('
                               || concat_ws(', ', case c.confdeltype when 'c' then 'ON DELETE CASCADE'
                                                                     when 'n' then 'ON DELETE SET NULL'
                                                                     when 'd' then 'ON DELETE SET DEFAULT' end,
                                                  case c.confupdtype when 'c' then 'ON UPDATE CASCADE'
                                                                     when 'n' then 'ON UPDATE SET NULL'
                                                                     when 'd' then 'ON UPDATE SET DEFAULT' end)
                               || ') and is not tracked: what that action does to its rows in a migration is not'
                               || ' logged, and no rollback restores it. Track '
                               || format('%I.%I', n.nspname, r.relname) || ' too.'
                          from pg_catalog.pg_constraint c
                          join etl_rollback.tracked_table t on t.untracked_at is null and t.table_name = any({0})
                           and t.relid = coalesce(pg_partition_root(c.confrelid), c.confrelid)::bigint
                          join pg_catalog.pg_class r on r.oid = coalesce(pg_partition_root(c.conrelid), c.conrelid)
                          join pg_catalog.pg_namespace n on n.oid = r.relnamespace
                         where c.contype = 'f' and c.conparentid = 0
                           and (c.confdeltype in ('c', 'n', 'd') or c.confupdtype in ('c', 'n', 'd'))
                           and not exists (select from etl_rollback.tracked_table u
                                            where u.relid = r.oid::bigint and u.untracked_at is null)
                         order by 1""", val(tracked.toArray(String[]::new)))
                .fetch(0, String.class);
    }

    /** Untracks the tables; their logs stay. Returns their qualified names. */
    public UntrackResult untrack(List<String> tables) {
        List<String> untracked = callForEach("untrack", tables, "Nothing was untracked.", (dsl, names) -> { });
        LOG.info("No longer tracking {} in {}", String.join(", ", untracked), database.description());
        return new UntrackResult(untracked);
    }

    /**
     * Calls etl_rollback.FUNCTION(table) for each table, then {@code after} with what the calls returned, in one
     * transaction; returns what each call returned.
     */
    private List<String> callForEach(String functionName, List<String> tables, String outcome,
                                     BiConsumer<DSLContext, List<String>> after) {
        List<String> results = new ArrayList<>(tables.size());
        try (Connection connection = database.connect()) {
            DSLContext dsl = DSL.using(connection, SQLDialect.POSTGRES);
            dsl.transaction(trx -> {
                for (String table : tables) {
                    Field<String> call = function(name("etl_rollback", functionName), SQLDataType.VARCHAR, val(table));
                    try {
                        results.add(trx.dsl().select(call).fetchSingle().value1());
                    } catch (DataAccessException e) {
                        throw new TableFailure(table, e);
                    }
                }
                after.accept(trx.dsl(), results);
            });
            return results;
        } catch (TableFailure e) {
            throw database.failure(functionName + " " + e.table, e.getCause(), outcome);
        } catch (DataAccessException | SQLException e) {
            throw database.failure(functionName, e, outcome);
        }
    }

    /** Carries which table a call failed for out of the transaction, which it rolls back. */
    private static final class TableFailure extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final String table;

        TableFailure(String table, DataAccessException cause) {
            super(cause);
            this.table = table;
        }
    }
}
