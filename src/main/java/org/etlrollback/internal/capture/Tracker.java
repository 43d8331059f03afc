package org.etlrollback.internal.capture;

import static org.etlrollback.internal.schema.Tables.TRACKED_TABLE;
import static org.jooq.impl.DSL.function;
import static org.jooq.impl.DSL.name;
import static org.jooq.impl.DSL.val;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

import org.etlrollback.TrackResult;
import org.etlrollback.UntrackResult;
import org.etlrollback.internal.database.Database;
import org.etlrollback.internal.database.ForeignKey;
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
    private static List<String> untrackedReferringTables(DSLContext dsl, List<String> names) {
        // the rest of the transaction only reads the catalog: every name resolved in pg_catalog
        Database.pinSearchPath(dsl);
        Map<Long, String> tracked = dsl.select(TRACKED_TABLE.RELID, TRACKED_TABLE.TABLE_NAME).from(TRACKED_TABLE)
                .where(TRACKED_TABLE.UNTRACKED_AT.isNull())
                .fetchMap(TRACKED_TABLE.RELID, TRACKED_TABLE.TABLE_NAME);
        List<Long> asked = tracked.entrySet().stream().filter(t -> names.contains(t.getValue()))
                .map(Map.Entry::getKey).toList();
        return ForeignKey.referringTo(dsl, asked).stream()
                .filter(fk -> fk.hasAction() && !tracked.containsKey(fk.relid()))
                .map(fk -> fk.qualifiedName() + " refers to " + tracked.get(fk.referencedRelid()) + " by foreign key "
                        + fk.name() + " (" + fk.actions() + ") and is not tracked: what that action does to its rows"
                        + " in a migration is not logged, and no rollback restores it. Track " + fk.qualifiedName()
                        + " too.")
                .toList();
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
            database.requireInstalled(dsl);
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
