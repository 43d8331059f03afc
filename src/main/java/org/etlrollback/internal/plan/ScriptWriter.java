package org.etlrollback.internal.plan;

import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.inline;
import static org.jooq.impl.DSL.name;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollbackException;
import org.etlrollback.internal.changelog.LoggedColumn;
import org.jooq.Condition;
import org.jooq.Cursor;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.Record;

/**
 * Writes a plan as a SQL script that, run with psql, performs the rollback: the executor's statements, in the order
 * that carried the plan out when it was written, with every value as a typed literal. The script does not look for
 * conflicts again; it restores the rows as the plan found them. Each restoring statement checks that it changed
 * as many rows as planned, and stops the script otherwise (a row changed since, or changed by a foreign key's
 * action as the script ran, where the executor would have found another order).
 */
public final class ScriptWriter {
    private static final int ROWS_PER_STATEMENT = 1000;

    private final DSLContext dsl;

    public ScriptWriter(DSLContext dsl) {
        this.dsl = dsl;
    }

    /**
     * Writes the script. {@code order} is that of the deletes, updates and inserts, as in {@code Executor.ORDERS};
     * {@code switchOff} and {@code switchBack} are the statements that disable the application's
     * triggers and rules on the plan's tables and set them back, run around the restoring statements as a rollback
     * runs them; {@code sequencesAhead} those that move sequences ahead of the values inserted back, run last.
     * {@code warnings}, what the migration changed that no rollback restores, head the script as comments.
     */
    public void write(Path file, RollbackPlan plan, String order, boolean restoreConflicts, String rollbackId,
                      boolean undidAll, List<String> switchOff, List<String> switchBack,
                      List<String> sequencesAhead, List<String> warnings) {
        Condition states = restoreConflicts
                ? field(name("p", "state")).in(inline("ok"), inline("conflict"))
                : field(name("p", "state")).eq(inline("ok"));
        try (BufferedWriter out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            out.write("-- Rollback of migration " + plan.migration().migrationId().replaceAll("[\\r\\n]", " ")
                    + ", planned " + OffsetDateTime.now() + "\n");
            out.write("-- Run with: psql -v ON_ERROR_STOP=1 -f " + file.getFileName() + "\n");
            out.write("-- It restores the rows as they were when it was planned; it does not check for later changes.\n");
            for (String warning : warnings) {
                // a name in it may hold a line break, which would end the comment
                out.write("-- Warning: " + warning.replaceAll("[\\r\\n]", " ") + "\n");
            }
            // the script is written in UTF-8, whatever the client encoding of whoever runs it
            out.write("\\set ON_ERROR_STOP on\nSET client_encoding = 'UTF8';\nBEGIN;\n");
            out.write("SET LOCAL search_path = pg_catalog, pg_temp;\n");
            // rows a policy hid from whoever runs it would be left as they are: it fails instead
            out.write("SET LOCAL row_security = off;\n");
            out.write("SET CONSTRAINTS ALL DEFERRED;\n");
            // money literals are read as the planning session wrote them
            out.write("SET LOCAL lc_monetary = " + literal(dsl.resultQuery("select current_setting('lc_monetary')")
                    .fetchSingle(0, String.class)) + ";\n");
            out.write("SELECT etl_rollback._start_rollback(" + literal(rollbackId) + ", "
                    + literal(plan.migration().migrationId()) + ");\n");
            out.write("SELECT set_config('etl_rollback.migration_id', " + literal(rollbackId) + ", true);\n");
            for (TablePlan t : plan.tables()) {
                out.write("LOCK TABLE " + dsl.render(new TableSql(t.table(), t.planTable()).targetUnaliased())
                        + " IN SHARE ROW EXCLUSIVE MODE;\n");
            }
            for (String statement : switchOff) {
                out.write(statement + ";\n");
            }
            for (char group : order.toCharArray()) {
                switch (group) {
                    case 'D' -> deletes(out, plan, states);
                    case 'U' -> updates(out, plan, states);
                    default -> inserts(out, plan, states);
                }
            }
            for (String statement : switchBack) {
                out.write(statement + ";\n");
            }
            for (String statement : sequencesAhead) {
                out.write(statement + ";\n");
            }
            out.write("SELECT etl_rollback._rolled_back(" + literal(rollbackId) + ", " + plan.fromSeq() + ", "
                    + (plan.uptoSeq() == Long.MAX_VALUE ? "NULL" : String.valueOf(plan.uptoSeq())) + ", " + undidAll
                    + ");\n");
            out.write("COMMIT;\n");
        } catch (IOException e) {
            throw new EtlRollbackException(ErrorCode.FAILED, "could not write the SQL script " + file + ": "
                    + e.getMessage(), e);
        }
    }

    /** Children first; a delete may find fewer rows than planned, where a cascade took them first. */
    private void deletes(BufferedWriter out, RollbackPlan plan, Condition states) throws IOException {
        for (TablePlan t : plan.childrenFirst()) {
            TableSql sql = new TableSql(t.table(), t.planTable());
            List<LoggedColumn> keys = sql.keys();
            rows(out, sql, states, "D", keys, false, values -> "DELETE FROM " + dsl.render(sql.targetUnaliased())
                    + " AS t\n USING (VALUES\n" + values + ") AS v(" + names(keys) + ")\n WHERE " + keyMatch(sql));
        }
    }

    private void updates(BufferedWriter out, RollbackPlan plan, Condition states) throws IOException {
        for (TablePlan t : plan.tables()) {
            TableSql sql = new TableSql(t.table(), t.planTable());
            // the key too, as the rollback writes it: its bytes may differ from the key's as it is now
            List<LoggedColumn> set = sql.columns(t::restores);
            if (set.isEmpty()) {
                continue;
            }
            identityGeneration(out, t, "BY DEFAULT");
            List<LoggedColumn> cols = new ArrayList<>(sql.keys());
            set.stream().filter(c -> !c.isKey()).forEach(cols::add);
            List<String> assignments = set.stream().map(c -> quote(c.name()) + " = v." + quote(c.name())).toList();
            rows(out, sql, states, "U", cols, true, values -> "UPDATE " + dsl.render(sql.targetUnaliased())
                    + " AS t SET " + String.join(", ", assignments) + "\n  FROM (VALUES\n" + values + ") AS v("
                    + names(cols) + ")\n WHERE " + keyMatch(sql));
            identityGeneration(out, t, "ALWAYS");
        }
    }

    private void inserts(BufferedWriter out, RollbackPlan plan, Condition states) throws IOException {
        for (TablePlan t : plan.tables()) {
            TableSql sql = new TableSql(t.table(), t.planTable());
            List<LoggedColumn> cols = sql.columns(LoggedColumn::isWritable);
            String overriding = t.table().hasIdentityAlways() ? " OVERRIDING SYSTEM VALUE" : "";
            rows(out, sql, states, "I", cols, true, values -> "INSERT INTO " + dsl.render(sql.targetUnaliased())
                    + " (" + names(cols) + ")" + overriding + " VALUES\n" + values);
        }
    }

    /** Makes the identity columns the plan restores GENERATED ALWAYS or BY DEFAULT. */
    private void identityGeneration(BufferedWriter out, TablePlan t, String generated) throws IOException {
        for (LoggedColumn c : t.identitiesToRestore()) {
            out.write("ALTER TABLE " + dsl.render(new TableSql(t.table(), t.planTable()).targetUnaliased())
                    + " ALTER COLUMN " + quote(c.name()) + " SET GENERATED " + generated + ";\n");
        }
    }

    /**
     * Writes the plan rows with the given action as statements of at most {@link #ROWS_PER_STATEMENT} rows, each
     * checking that it changed them all.
     */
    private void rows(BufferedWriter out, TableSql sql, Condition states, String action, List<LoggedColumn> cols,
                      boolean checked, Function<String, String> statement) throws IOException {
        // a value as its type's output function writes it (a cast to text would drop a bpchar's trailing
        // blanks), but xml, whose output drops an XML declaration that its cast to text keeps
        List<Field<String>> literals = cols.stream()
                .map(c -> c.type().equals("xml")
                        ? field("quote_nullable({0}::text) || {1}", String.class, TableSql.image("p", "b", c),
                                inline("::" + c.type()))
                        : field("format('%L', {0}) || {1}", String.class, TableSql.image("p", "b", c),
                                inline("::" + c.type())))
                .toList();
        String what = literal(switch (action) {
            case "D" -> "DELETE FROM ";
            case "U" -> "UPDATE ";
            default -> "INSERT INTO ";
        } + dsl.render(sql.targetUnaliased()));
        Function<List<String>, String> write = batch -> checked
                ? "WITH changed AS (\n" + statement.apply(String.join(",\n", batch))
                        + "\n RETURNING 1)\nSELECT etl_rollback._expect_rows(count(*), " + batch.size() + ", " + what
                        + ") FROM changed;\n"
                : statement.apply(String.join(",\n", batch)) + ";\n";
        try (Cursor<Record> cursor = dsl.select(literals).from(sql.plan("p"))
                .where(states).and(field(name("p", "action")).eq(inline(action))).fetchLazy()) {
            List<String> batch = new ArrayList<>();
            while (cursor.hasNext()) {
                Record r = cursor.fetchNext();
                List<String> values = new ArrayList<>();
                for (int i = 0; i < r.size(); i++) {
                    values.add(r.get(i, String.class));
                }
                batch.add("  (" + String.join(", ", values) + ")");
                if (batch.size() == ROWS_PER_STATEMENT) {
                    out.write(write.apply(batch));
                    batch.clear();
                }
            }
            if (!batch.isEmpty()) {
                out.write(write.apply(batch));
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    /** The target row {@code t} whose key the values row {@code v} holds, as the key's index compares them. */
    private String keyMatch(TableSql sql) {
        return String.join(" AND ", sql.keys().stream()
                .map(k -> dsl.render(sql.sameKey(k, TableSql.column("t", k), TableSql.column("v", k)))).toList());
    }

    private String names(List<LoggedColumn> cols) {
        return String.join(", ", cols.stream().map(c -> quote(c.name())).toList());
    }

    private String quote(String identifier) {
        return dsl.render(name(identifier));
    }

    private String literal(String value) {
        return dsl.renderInlined(inline(value));
    }
}
