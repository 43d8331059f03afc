package org.etlrollback.internal.archive;

import static org.etlrollback.internal.schema.Tables.CHECKPOINT;
import static org.etlrollback.internal.schema.Tables.MIGRATION;
import static org.etlrollback.internal.schema.Tables.STATEMENT;
import static org.etlrollback.internal.schema.Tables.TRACKED_COLUMN;
import static org.etlrollback.internal.schema.Tables.TRACKED_TABLE;
import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.inline;
import static org.jooq.impl.DSL.name;
import static org.jooq.impl.DSL.select;
import static org.jooq.impl.DSL.sql;
import static org.jooq.impl.DSL.table;
import static org.jooq.impl.DSL.val;

import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollbackException;
import org.etlrollback.internal.changelog.ChangeLog;
import org.etlrollback.internal.database.Database;
import org.etlrollback.internal.schema.tables.records.MigrationRecord;
import org.etlrollback.internal.schema.tables.records.TrackedColumnRecord;
import org.jooq.Cursor;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.Query;
import org.jooq.Record;
import org.jooq.SQLDialect;
import org.jooq.exception.DataAccessException;
import org.jooq.impl.DSL;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes one migration's log to a file, and reads it back into the log, so that a migration whose log was cleaned
 * up can still be rolled back.
 *
 * <p>The file holds JSON lines, gzip-compressed or not: a header, the migration's catalog row, each table it changed
 * with the columns its log holds, its statements, its checkpoints, and its log rows. Every value is written as its
 * text form, taken with settings under which the text reads back to the same value ({@code extra_float_digits = 3},
 * ISO dates, UTC, postgres-style intervals, hex bytea), and read back with a cast to the log column's own type: the
 * log rows come back exactly as they were. Sequence numbers ({@code stmt}, {@code seq}) are kept, since they order
 * the migration's changes among all others: an archive goes back into the database it came from, or a copy of it.
 */
public final class Archiver {
    /** The first line's {@code archive} value, which says what the file is. */
    static final String KIND = "etl-rollback migration log";
    static final int FORMAT = 1;
    private static final int BATCH = 500;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Logger LOG = LoggerFactory.getLogger(Archiver.class);

    private final Database database;

    public Archiver(Database database) {
        this.database = database;
    }

    /**
     * What an archive holds.
     *
     * @param migrationId the migration
     * @param tables      the tables it changed, as their log names them
     * @param statements  its logged statements
     * @param checkpoints its checkpoints
     * @param rows        its log rows
     */
    public record Summary(String migrationId, List<String> tables, long statements, long checkpoints, long rows) {
        public Summary {
            tables = List.copyOf(tables);
        }
    }

    /** Writes the migration's log to {@code file} (replaced whole, or left as it was on failure). */
    public Summary export(String migrationId, Path file, boolean gzip) {
        Path directory = file.toAbsolutePath().getParent();
        Path temporary = null;
        try (Connection connection = database.connect()) {
            connection.setAutoCommit(false);
            DSLContext dsl = DSL.using(connection, SQLDialect.POSTGRES);
            try {
                dsl.execute("set transaction isolation level repeatable read, read only");
                Database.pinSearchPath(dsl);
                textSettings(dsl);
                MigrationRecord migration = dsl.selectFrom(MIGRATION).where(MIGRATION.MIGRATION_ID.eq(migrationId))
                        .fetchOptional().orElseThrow(() -> new EtlRollbackException(ErrorCode.FAILED,
                                "export of " + migrationId + ": no migration has that id in the log (etl_rollback"
                                        + ".migrations lists the known ones). No file was written."));
                if (new ChangeLog(dsl).isBeingWritten(migrationId)) {
                    throw new EtlRollbackException(ErrorCode.FAILED, "export of " + migrationId + ": an open"
                            + " transaction is still writing it; export it after that transaction ends. No file was"
                            + " written.");
                }
                Files.createDirectories(directory);
                temporary = Files.createTempFile(directory, "." + file.getFileName(), ".part");
                Summary summary;
                try (Writer out = writer(temporary, gzip)) {
                    summary = write(dsl, migration, out);
                }
                move(temporary, file);
                LOG.info("Exported {} to {}: {} log row(s) of {} table(s)", migrationId, file, summary.rows(),
                        summary.tables().size());
                return summary;
            } finally {
                connection.rollback();
            }
        } catch (DataAccessException | SQLException e) {
            throw database.failure("export of " + migrationId, e, "No file was written.");
        } catch (IOException e) {
            throw new EtlRollbackException(ErrorCode.FAILED, "export of " + migrationId + " to " + file
                    + " failed: " + e.getMessage() + ". No file was written.", e);
        } finally {
            deleteQuietly(temporary);
        }
    }

    /**
     * Reads an archive back into the log, in one transaction. Refused when the log already has the migration, or
     * when a table's log no longer has the columns the archive holds.
     */
    public Summary importArchive(Path file) {
        try (BufferedReader in = reader(file); Connection connection = database.connect()) {
            connection.setAutoCommit(false);
            DSLContext dsl = DSL.using(connection, SQLDialect.POSTGRES);
            try {
                Database.pinSearchPath(dsl);
                textSettings(dsl);
                Summary summary = new Import(dsl, file).read(in);
                connection.commit();
                LOG.info("Imported {} from {}: {} log row(s) of {} table(s)", summary.migrationId(), file,
                        summary.rows(), summary.tables().size());
                return summary;
            } catch (RuntimeException e) {
                connection.rollback();
                throw e;
            }
        } catch (DataAccessException | SQLException e) {
            throw database.failure("import of " + file, e, "Nothing was imported.");
        } catch (IOException e) {
            throw new EtlRollbackException(ErrorCode.FAILED, "import of " + file + " failed: cannot read it ("
                    + e.getMessage() + "). Nothing was imported.", e);
        }
    }

    /** Settings under which every value's text form reads back to the same value. */
    private static void textSettings(DSLContext dsl) {
        dsl.execute("set local extra_float_digits = 3");
        dsl.execute("set local datestyle = 'ISO, YMD'");
        dsl.execute("set local intervalstyle = 'postgres'");
        dsl.execute("set local bytea_output = 'hex'");
        dsl.execute("set local timezone = 'UTC'");
    }

    private Summary write(DSLContext dsl, MigrationRecord migration, Writer out) throws IOException {
        int mig = migration.getMig();
        ObjectNode header = JSON.createObjectNode();
        header.put("archive", KIND);
        header.put("format", FORMAT);
        header.put("migration_id", migration.getMigrationId());
        header.put("exported_at", OffsetDateTime.now().toString());
        header.put("server_version", dsl.fetchValue("select current_setting('server_version')").toString());
        line(out, header);

        ObjectNode m = JSON.createObjectNode();
        m.put("type", "migration");
        m.put("mig", mig);
        m.put("migration_id", migration.getMigrationId());
        m.put("name", migration.getName());
        m.put("status", migration.getStatus());
        m.put("started_at", text(dsl, MIGRATION.STARTED_AT, mig));
        m.put("started_by", migration.getStartedBy());
        m.put("rollback_of", migration.getRollbackOf() == null ? null : dsl.select(MIGRATION.MIGRATION_ID)
                .from(MIGRATION).where(MIGRATION.MIG.eq(migration.getRollbackOf())).fetchOne(MIGRATION.MIGRATION_ID));
        m.put("undone_after_seq", migration.getUndoneAfterSeq());
        m.put("rolled_back_at", text(dsl, MIGRATION.ROLLED_BACK_AT, mig));
        m.put("undid_after_seq", migration.getUndidAfterSeq());
        m.put("undid_upto_seq", migration.getUndidUptoSeq());
        m.put("undid_all", migration.getUndidAll());
        line(out, m);

        List<Integer> tableIds = dsl.selectDistinct(STATEMENT.TABLE_ID).from(STATEMENT).where(STATEMENT.MIG.eq(mig))
                .orderBy(STATEMENT.TABLE_ID).fetch(STATEMENT.TABLE_ID);
        Map<Integer, List<Integer>> positions = new LinkedHashMap<>();
        List<String> tableNames = new ArrayList<>();
        for (int tableId : tableIds) {
            String tableName = dsl.select(TRACKED_TABLE.TABLE_NAME).from(TRACKED_TABLE)
                    .where(TRACKED_TABLE.TABLE_ID.eq(tableId)).fetchSingle(TRACKED_TABLE.TABLE_NAME);
            Set<String> logColumns = logColumns(dsl, tableId);
            ObjectNode t = JSON.createObjectNode();
            t.put("type", "table");
            t.put("table_id", tableId);
            t.put("table_name", tableName);
            ArrayNode columns = t.putArray("columns");
            List<Integer> exported = new ArrayList<>();
            for (TrackedColumnRecord c : dsl.selectFrom(TRACKED_COLUMN).where(TRACKED_COLUMN.TABLE_ID.eq(tableId))
                    .orderBy(TRACKED_COLUMN.POSITION).fetch()) {
                // a column whose type was dropped with CASCADE has lost its log columns, and its values with them
                if (!logColumns.contains("o" + c.getPosition()) || !logColumns.contains("n" + c.getPosition())) {
                    continue;
                }
                exported.add(c.getPosition());
                ObjectNode column = columns.addObject();
                column.put("position", c.getPosition());
                column.put("name", c.getColumnName());
                column.put("type", c.getTypeName());
                column.put("dropped", c.getDropped());
            }
            positions.put(tableId, exported);
            tableNames.add(tableName);
            line(out, t);
        }

        long statements = 0;
        for (Record r : dsl.select(STATEMENT.STMT, STATEMENT.TABLE_ID, STATEMENT.OP, STATEMENT.ROW_COUNT,
                        STATEMENT.TXID, STATEMENT.CHANGED_AT.cast(String.class))
                .from(STATEMENT).where(STATEMENT.MIG.eq(mig)).orderBy(STATEMENT.STMT).fetch()) {
            ObjectNode s = JSON.createObjectNode();
            s.put("type", "statement");
            s.put("stmt", r.get(STATEMENT.STMT));
            s.put("table_id", r.get(STATEMENT.TABLE_ID));
            s.put("op", r.get(STATEMENT.OP));
            s.put("row_count", r.get(STATEMENT.ROW_COUNT));
            s.put("txid", r.get(STATEMENT.TXID));
            s.put("changed_at", r.get(5, String.class));
            line(out, s);
            statements++;
        }

        long checkpoints = 0;
        for (Record r : dsl.select(CHECKPOINT.NAME, CHECKPOINT.SEQ, CHECKPOINT.CREATED_AT.cast(String.class))
                .from(CHECKPOINT).where(CHECKPOINT.MIG.eq(mig)).orderBy(CHECKPOINT.SEQ).fetch()) {
            ObjectNode c = JSON.createObjectNode();
            c.put("type", "checkpoint");
            c.put("name", r.get(CHECKPOINT.NAME));
            c.put("seq", r.get(CHECKPOINT.SEQ));
            c.put("created_at", r.get(2, String.class));
            line(out, c);
            checkpoints++;
        }

        long rows = 0;
        for (Map.Entry<Integer, List<Integer>> e : positions.entrySet()) {
            rows += writeRows(dsl, mig, e.getKey(), e.getValue(), out);
        }
        return new Summary(migration.getMigrationId(), tableNames, statements, checkpoints, rows);
    }

    private static long writeRows(DSLContext dsl, int mig, int tableId, List<Integer> positions, Writer out)
            throws IOException {
        List<Field<?>> fields = new ArrayList<>();
        fields.add(field(name("l", "seq"), Long.class));
        fields.add(field(name("l", "stmt"), Long.class));
        for (int p : positions) {
            fields.add(field("{0}::text", String.class, field(name("l", "o" + p))));
            fields.add(field("{0}::text", String.class, field(name("l", "n" + p))));
        }
        long rows = 0;
        try (Cursor<Record> cursor = dsl.select(fields)
                .from(table(name("etl_rollback", "log_" + tableId)).as("l"))
                .where(field(name("l", "stmt"), Long.class).in(select(STATEMENT.STMT).from(STATEMENT)
                        .where(STATEMENT.MIG.eq(mig)).and(STATEMENT.TABLE_ID.eq(tableId))))
                .orderBy(field(name("l", "seq")))
                .fetchSize(1000)
                .fetchLazy()) {
            for (Record r : cursor) {
                ObjectNode row = JSON.createObjectNode();
                row.put("type", "row");
                row.put("table_id", tableId);
                row.put("seq", r.get(0, Long.class));
                row.put("stmt", r.get(1, Long.class));
                ObjectNode before = row.putObject("o");
                ObjectNode after = row.putObject("n");
                for (int i = 0; i < positions.size(); i++) {
                    String o = r.get(2 + 2 * i, String.class);
                    String n = r.get(3 + 2 * i, String.class);
                    if (o != null) {
                        before.put(Integer.toString(positions.get(i)), o);
                    }
                    if (n != null) {
                        after.put(Integer.toString(positions.get(i)), n);
                    }
                }
                line(out, row);
                rows++;
            }
        }
        return rows;
    }

    /** The columns that exist in a log table. */
    private static Set<String> logColumns(DSLContext dsl, int tableId) {
        return new TreeSet<>(dsl.resultQuery("select a.attname::text from pg_catalog.pg_attribute a"
                        + " where a.attrelid = to_regclass({0}) and a.attnum > 0 and not a.attisdropped",
                val("etl_rollback.log_" + tableId)).fetch(0, String.class));
    }

    private static String text(DSLContext dsl, Field<OffsetDateTime> column, int mig) {
        return dsl.select(column.cast(String.class)).from(MIGRATION).where(MIGRATION.MIG.eq(mig)).fetchOne(0,
                String.class);
    }

    /** One import, in the order the archive's lines come. */
    private static final class Import {
        private final DSLContext dsl;
        private final Path file;
        private String migrationId;
        private Integer mig;
        private final Map<Integer, TargetTable> tables = new HashMap<>();
        private final Map<Integer, List<JsonNode>> pending = new HashMap<>();
        private final List<Query> statements = new ArrayList<>();
        private long statementCount;
        private long checkpoints;
        private long rows;

        Import(DSLContext dsl, Path file) {
            this.dsl = dsl;
            this.file = file;
        }

        Summary read(BufferedReader in) throws IOException {
            String first = in.readLine();
            JsonNode header = first == null ? null : parse(first, 1);
            if (header == null || !KIND.equals(header.path("archive").asText())) {
                throw notAnArchive("its first line does not say \"archive\": \"" + KIND + "\"");
            }
            if (header.path("format").asInt() != FORMAT) {
                throw notAnArchive("it is in format " + header.path("format").asText() + ", and this version of"
                        + " etl-rollback reads format " + FORMAT);
            }
            int number = 1;
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                number++;
                if (line.isBlank()) {
                    continue;
                }
                JsonNode node = parse(line, number);
                String type = node.path("type").asText();
                if (mig == null && !type.equals("migration")) {
                    throw notAnArchive("line " + number + " comes before the migration's line");
                }
                switch (type) {
                    case "migration" -> migrationLine(node);
                    case "table" -> tableLine(node);
                    case "statement" -> statementLine(node);
                    case "checkpoint" -> checkpointLine(node);
                    case "row" -> rowLine(node);
                    default -> throw notAnArchive("line " + number + " has an unknown type '" + type + "'");
                }
            }
            if (mig == null) {
                throw notAnArchive("it holds no migration");
            }
            flushStatements();
            for (int tableId : new ArrayList<>(pending.keySet())) {
                flushRows(tableId);
            }
            List<String> names = tables.values().stream().map(TargetTable::name).sorted().toList();
            return new Summary(migrationId, names, statementCount, checkpoints, rows);
        }

        private void migrationLine(JsonNode m) {
            migrationId = m.path("migration_id").asText();
            if (dsl.fetchExists(MIGRATION, MIGRATION.MIGRATION_ID.eq(migrationId))) {
                throw new EtlRollbackException(ErrorCode.FAILED, "import of " + file + ": migration " + migrationId
                        + " is in the log already; delete its log first (cleanup) to replace it. Nothing was"
                        + " imported.");
            }
            Integer rollbackOf = m.path("rollback_of").isNull() ? null : dsl.select(MIGRATION.MIG).from(MIGRATION)
                    .where(MIGRATION.MIGRATION_ID.eq(m.path("rollback_of").asText())).fetchOne(MIGRATION.MIG);
            int original = m.path("mig").asInt();
            // the migration keeps its surrogate when it is free, as after a cleanup of the same database
            boolean free = !dsl.fetchExists(MIGRATION, MIGRATION.MIG.eq(original));
            Field<Integer> newMig = free ? val(original)
                    : field("nextval(pg_get_serial_sequence('etl_rollback.migration', 'mig'))::int", Integer.class);
            // archives written before schema version 3 hold no undid_ fields
            mig = dsl.resultQuery("insert into etl_rollback.migration (mig, migration_id, name, status, started_at,"
                            + " started_by, rollback_of, undone_after_seq, rolled_back_at, undid_after_seq,"
                            + " undid_upto_seq, undid_all) overriding system value"
                            + " values ({0}, {1}, {2}, {3}, {4}::timestamptz, {5}, {6}, {7}, {8}::timestamptz, {9},"
                            + " {10}, {11}) returning mig",
                    newMig, val(migrationId), val(textOrNull(m, "name")), val(m.path("status").asText()),
                    val(m.path("started_at").asText()), val(m.path("started_by").asText()),
                    val(rollbackOf, Integer.class), val(longOrNull(m, "undone_after_seq"), Long.class),
                    val(textOrNull(m, "rolled_back_at")), val(longOrNull(m, "undid_after_seq"), Long.class),
                    val(longOrNull(m, "undid_upto_seq"), Long.class),
                    val(m.path("undid_all").isBoolean() ? m.path("undid_all").asBoolean() : null, Boolean.class))
                    .fetchSingle(0, Integer.class);
        }

        private void tableLine(JsonNode t) {
            int archived = t.path("table_id").asInt();
            String name = t.path("table_name").asText();
            Record tracked = dsl.select(TRACKED_TABLE.TABLE_ID, TRACKED_TABLE.TABLE_NAME).from(TRACKED_TABLE)
                    .where(TRACKED_TABLE.RELID.eq(field("to_regclass({0})::oid::bigint", Long.class, val(name))))
                    .fetchOne();
            if (tracked == null) {
                tracked = dsl.select(TRACKED_TABLE.TABLE_ID, TRACKED_TABLE.TABLE_NAME).from(TRACKED_TABLE)
                        .where(TRACKED_TABLE.TABLE_NAME.eq(name)).fetchOne();
            }
            if (tracked == null) {
                throw new EtlRollbackException(ErrorCode.FAILED, "import of " + file + ": table " + name + " has no"
                        + " log in this database (it was never tracked here): track it, or import the archive into"
                        + " the database it came from. Nothing was imported.");
            }
            int tableId = tracked.get(TRACKED_TABLE.TABLE_ID);
            Map<Integer, String> types = dsl.select(TRACKED_COLUMN.POSITION, TRACKED_COLUMN.TYPE_NAME)
                    .from(TRACKED_COLUMN).where(TRACKED_COLUMN.TABLE_ID.eq(tableId))
                    .fetchMap(TRACKED_COLUMN.POSITION, TRACKED_COLUMN.TYPE_NAME);
            Set<String> logColumns = logColumns(dsl, tableId);
            List<Integer> positions = new ArrayList<>();
            List<String> columnTypes = new ArrayList<>();
            for (JsonNode c : t.path("columns")) {
                int position = c.path("position").asInt();
                String type = c.path("type").asText();
                if (!type.equals(types.get(position)) || !logColumns.contains("o" + position)
                        || !logColumns.contains("n" + position)) {
                    throw new EtlRollbackException(ErrorCode.FAILED, "import of " + file + ": the log of " + name
                            + " has no column " + position + " of type " + type + " (column " + c.path("name")
                            .asText() + " in the archive): the table was dropped and tracked anew, or the archive"
                            + " comes from another database. Nothing was imported.");
                }
                positions.add(position);
                columnTypes.add(type);
            }
            boolean mayWrite = Boolean.TRUE.equals(dsl.fetchValue("select has_table_privilege({0}, 'INSERT')",
                    val("etl_rollback.log_" + tableId)));
            if (!mayWrite) {
                throw new EtlRollbackException(ErrorCode.FAILED, "import of " + file + ": "
                        + dsl.fetchValue("select quote_ident(current_user)") + " may not write the log of " + name
                        + " (etl_rollback.log_" + tableId + "); import as the owner of etl-rollback. Nothing was"
                        + " imported.");
            }
            tables.put(archived, new TargetTable(tableId, tracked.get(TRACKED_TABLE.TABLE_NAME), positions,
                    columnTypes));
        }

        private void statementLine(JsonNode s) {
            TargetTable table = target(s);
            statements.add(dsl.insertInto(STATEMENT, STATEMENT.STMT, STATEMENT.MIG, STATEMENT.TABLE_ID, STATEMENT.OP,
                            STATEMENT.ROW_COUNT, STATEMENT.TXID, STATEMENT.CHANGED_AT)
                    .values(val(s.path("stmt").asLong()), val(mig), val(table.tableId()), val(s.path("op").asText()),
                            val(s.path("row_count").asLong()), val(s.path("txid").asLong()),
                            field("{0}::timestamptz", OffsetDateTime.class, val(s.path("changed_at").asText()))));
            statementCount++;
            if (statements.size() >= BATCH) {
                flushStatements();
            }
        }

        private void flushStatements() {
            if (statements.isEmpty()) {
                return;
            }
            try {
                dsl.batch(statements).execute();
            } catch (DataAccessException e) {
                if ("23505".equals(e.sqlState())) {
                    throw new EtlRollbackException(ErrorCode.FAILED, "import of " + file + ": statement numbers of"
                            + " the archive are taken in this log, so it does not come from this database (or a copy"
                            + " of it). Nothing was imported.", e);
                }
                throw e;
            }
            statements.clear();
        }

        private void checkpointLine(JsonNode c) {
            dsl.insertInto(CHECKPOINT, CHECKPOINT.MIG, CHECKPOINT.NAME, CHECKPOINT.SEQ, CHECKPOINT.CREATED_AT)
                    .values(val(mig), val(c.path("name").asText()), val(c.path("seq").asLong()),
                            field("{0}::timestamptz", OffsetDateTime.class, val(c.path("created_at").asText())))
                    .execute();
            checkpoints++;
        }

        private void rowLine(JsonNode r) {
            TargetTable table = target(r);
            List<JsonNode> rowsOfTable = pending.computeIfAbsent(table.tableId(), k -> new ArrayList<>());
            rowsOfTable.add(r);
            rows++;
            if (rowsOfTable.size() >= BATCH) {
                flushRows(table.tableId());
            }
        }

        /** Inserts a table's pending rows with one statement, each value cast from its text to its column's type. */
        private void flushRows(int tableId) {
            List<JsonNode> batch = pending.remove(tableId);
            if (batch == null || batch.isEmpty()) {
                return;
            }
            TargetTable table = tables.values().stream().filter(t -> t.tableId() == tableId).findFirst()
                    .orElseThrow();
            ArrayNode array = JSON.createArrayNode();
            batch.forEach(array::add);
            List<Field<?>> columns = new ArrayList<>();
            List<Field<?>> values = new ArrayList<>();
            columns.add(field(name("seq")));
            columns.add(field(name("stmt")));
            values.add(field("(r ->> 'seq')::bigint"));
            values.add(field("(r ->> 'stmt')::bigint"));
            for (int i = 0; i < table.positions().size(); i++) {
                String position = Integer.toString(table.positions().get(i));
                for (String image : List.of("o", "n")) {
                    columns.add(field(name(image + position)));
                    values.add(field("cast(r -> {0} ->> {1} as {2})", inline(image), inline(position),
                            sql(table.types().get(i))));
                }
            }
            dsl.insertInto(table(name("etl_rollback", "log_" + tableId)), columns)
                    .select(select(values).from("jsonb_array_elements({0}::jsonb) as r", val(json(array))))
                    .execute();
        }

        private TargetTable target(JsonNode node) {
            TargetTable table = tables.get(node.path("table_id").asInt());
            if (table == null) {
                throw notAnArchive("a " + node.path("type").asText() + " line names table "
                        + node.path("table_id").asText() + ", which no table line describes");
            }
            return table;
        }

        private JsonNode parse(String line, int number) {
            try {
                return JSON.readTree(line);
            } catch (JsonProcessingException e) {
                throw notAnArchive("line " + number + " is not JSON");
            }
        }

        private EtlRollbackException notAnArchive(String why) {
            return new EtlRollbackException(ErrorCode.FAILED, "import of " + file + ": not an etl-rollback archive"
                    + " this version reads: " + why + ". Nothing was imported.");
        }
    }

    /** A table of the archive as it is logged in the target database. */
    private record TargetTable(int tableId, String name, List<Integer> positions, List<String> types) {
    }

    private static String textOrNull(JsonNode node, String field) {
        JsonNode value = node.path(field);
        return value.isNull() || value.isMissingNode() ? null : value.asText();
    }

    private static Long longOrNull(JsonNode node, String field) {
        JsonNode value = node.path(field);
        return value.isNull() || value.isMissingNode() ? null : value.asLong();
    }

    private static String json(JsonNode node) {
        try {
            return JSON.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void line(Writer out, JsonNode node) throws IOException {
        out.write(JSON.writeValueAsString(node));
        out.write('\n');
    }

    private static Writer writer(Path file, boolean gzip) throws IOException {
        OutputStream out = Files.newOutputStream(file);
        try {
            if (gzip) {
                out = new GZIPOutputStream(out, 1 << 16);
            }
            return new BufferedWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), 1 << 16);
        } catch (IOException e) {
            out.close();
            throw e;
        }
    }

    /** Reads a gzip-compressed or plain archive, told apart by gzip's magic number. */
    private static BufferedReader reader(Path file) throws IOException {
        InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        try {
            in.mark(2);
            int b1 = in.read();
            int b2 = in.read();
            in.reset();
            if (b1 == 0x1f && b2 == 0x8b) {
                in = new GZIPInputStream(in, 1 << 16);
            }
            return new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8), 1 << 16);
        } catch (IOException e) {
            in.close();
            throw e;
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static void deleteQuietly(Path file) {
        if (file != null) {
            try {
                Files.deleteIfExists(file);
            } catch (IOException e) {
                LOG.debug("Could not delete {}: {}", file, e.toString());
            }
        }
    }
}
