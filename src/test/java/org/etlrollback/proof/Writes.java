package org.etlrollback.proof;

import java.io.IOException;
import java.io.StringReader;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.etlrollback.proof.RandomSchema.ColumnType;
import org.etlrollback.proof.RandomSchema.Table;
import org.etlrollback.proof.Step.Delete;
import org.etlrollback.proof.Step.Insert;
import org.etlrollback.proof.Step.MoveKey;
import org.etlrollback.proof.Step.Op;
import org.etlrollback.proof.Step.Revert;
import org.etlrollback.proof.Step.Truncate;
import org.etlrollback.proof.Step.Update;
import org.etlrollback.proof.Step.Upsert;
import org.postgresql.PGConnection;

/**
 * Turns a write step into a statement over the rows there are now. Every value is a text parameter with an
 * explicit cast, so no value is ever spliced into the SQL. Every statement changes each row it touches (the
 * column {@code v} gets a new value), because a tagged statement that touched a row without changing it would be
 * logged but leave no trace in the tables the model learns from.
 */
final class Writes {
    private final RandomSchema schema;
    private final Supplier<Model> model;

    /** {@code model} gives the model as it is when a statement is made. */
    Writes(RandomSchema schema, Supplier<Model> model) {
        this.schema = schema;
        this.model = model;
    }

    /** A statement ready to run: SQL with parameters, or a COPY with its CSV data. */
    record Statement(String sql, List<Object> parameters, String copyData) {
        void execute(Connection connection) throws SQLException {
            if (copyData != null) {
                try {
                    connection.unwrap(PGConnection.class).getCopyAPI().copyIn(sql, new StringReader(copyData));
                } catch (IOException e) {
                    throw new SQLException("COPY failed: " + e, e);
                }
                return;
            }
            try (PreparedStatement ps = connection.prepareStatement(sql)) {
                for (int i = 0; i < parameters.size(); i++) {
                    Object p = parameters.get(i);
                    if (p == null) {
                        ps.setNull(i + 1, Types.VARCHAR);
                    } else if (p instanceof Integer[] ints) {
                        Array array = connection.createArrayOf("int4", ints);
                        ps.setArray(i + 1, array);
                    } else if (p instanceof String[] texts) {
                        ps.setArray(i + 1, connection.createArrayOf("text", texts));
                    } else {
                        ps.setString(i + 1, p.toString());
                    }
                }
                ps.execute();
            }
        }

        @Override
        public String toString() {
            String shown = parameters.stream()
                    .map(p -> p instanceof Object[] a ? Arrays.toString(a) : p == null ? "null" : "'" + p + "'")
                    .collect(Collectors.joining(", "));
            return sql + (copyData != null ? "\n" + copyData : parameters.isEmpty() ? "" : "  -- " + shown);
        }
    }

    /** The statement of a write step, or null when there is nothing for it to do. */
    Statement statement(Op op, long v) {
        if (op instanceof Insert i) {
            return insert(i, v);
        } else if (op instanceof Update u) {
            return update(u, v);
        } else if (op instanceof MoveKey m) {
            return moveKey(m, v);
        } else if (op instanceof Delete d) {
            return delete(d);
        } else if (op instanceof Upsert u) {
            return upsert(u, v);
        } else if (op instanceof Truncate t) {
            return new Statement("truncate " + t.table().qualified() + (t.table() == Table.PARENT ? " cascade" : ""),
                    List.of(), null);
        }
        return revert((Revert) op);
    }

    private Statement insert(Insert op, long v) {
        Random random = new Random(op.seed());
        Table table = op.table();
        List<List<String>> keys = freeKeys(table, op.rows(), random);
        if (keys.isEmpty()) {
            return null;
        }
        List<String> columns = allColumns(table);
        List<List<String>> rows = new ArrayList<>();
        for (List<String> key : keys) {
            rows.add(newRow(table, key, v, random));
        }
        if (op.copy()) {
            StringBuilder csv = new StringBuilder();
            for (List<String> row : rows) {
                csv.append(row.stream().map(Writes::csv).collect(Collectors.joining(","))).append('\n');
            }
            return new Statement("copy " + table.qualified() + " (" + String.join(", ", columns)
                    + ") from stdin with (format csv)", List.of(), csv.toString());
        }
        return new Statement("insert into " + table.qualified() + " (" + String.join(", ", columns) + ") values "
                + valuesList(table, columns, rows.size()), flatten(rows), null);
    }

    private Statement update(Update op, long v) {
        Random random = new Random(op.seed());
        Table table = op.table();
        List<Row> rows = presentRows(table, op.rows(), random);
        if (rows.isEmpty()) {
            return null;
        }
        List<String> changed = new ArrayList<>();
        changed.add("v");
        for (String column : schema.nonKeyColumns(table)) {
            if (!column.equals("v") && random.nextBoolean()) {
                changed.add(column);
            }
        }
        if (op.expressions()) {
            List<String> sets = new ArrayList<>();
            sets.add("v = cast(? as bigint)");
            for (String column : changed.subList(1, changed.size())) {
                sets.add(column + " = " + expression(table, column));
            }
            List<Object> parameters = new ArrayList<>();
            parameters.add(Long.toString(v));
            return new Statement("update " + table.qualified() + " set " + String.join(", ", sets) + " where "
                    + keyIn(table, rows, parameters), parameters, null);
        }
        List<String> columns = new ArrayList<>(table.keyColumns());
        columns.addAll(changed);
        List<List<String>> values = new ArrayList<>();
        for (Row row : rows) {
            List<String> full = newRow(table, row.keyValues(), v, random);
            List<String> all = allColumns(table);
            values.add(columns.stream().map(c -> full.get(all.indexOf(c))).collect(Collectors.toCollection(ArrayList::new)));
        }
        String join = table.keyColumns().stream().map(k -> "t." + k + " = x." + k)
                .collect(Collectors.joining(" and "));
        String sets = changed.stream().map(c -> c + " = x." + c).collect(Collectors.joining(", "));
        return new Statement("update " + table.qualified() + " as t set " + sets + " from (values "
                + valuesList(table, columns, values.size()) + ") as x(" + String.join(", ", columns)
                + ") where " + join, flatten(values), null);
    }

    private Statement moveKey(MoveKey op, long v) {
        Random random = new Random(op.seed());
        Table table = op.table();
        if (table.compositeKey()) {
            List<Row> rows = presentRows(table, 1, random);
            List<List<String>> free = freeKeys(table, 1, random);
            if (rows.isEmpty() || free.isEmpty()) {
                return null;
            }
            List<String> from = rows.get(0).keyValues();
            List<String> to = free.get(0);
            return new Statement("update prop.pair set a = cast(? as int), b = ?, v = cast(? as bigint)"
                    + " where a = cast(? as int) and b = ?",
                    List.of(to.get(0), to.get(1), Long.toString(v), from.get(0), from.get(1)), null);
        }
        List<Row> rows = presentRows(table, op.rows(), random);
        if (rows.isEmpty()) {
            return null;
        }
        if (rows.size() == 1) {
            Set<Integer> taken = ids(table);
            List<Integer> targets = new ArrayList<>();
            for (int id = 1; id <= 2 * Keys.ID_SPACE; id++) {
                if (!taken.contains(id)) {
                    targets.add(id);
                }
            }
            int to = targets.get(random.nextInt(targets.size()));
            return new Statement("update " + table.qualified() + " set id = cast(? as int), v = cast(? as bigint)"
                    + " where id = cast(? as int)", List.of(Integer.toString(to), Long.toString(v),
                    Integer.toString(rows.get(0).id())), null);
        }
        int shift = 1 + random.nextInt(Keys.ID_SPACE);
        List<Object> parameters = new ArrayList<>(List.of(Integer.toString(shift), Long.toString(v)));
        return new Statement("update " + table.qualified() + " set id = id + cast(? as int), v = cast(? as bigint)"
                + " where " + keyIn(table, rows, parameters), parameters, null);
    }

    private Statement delete(Delete op) {
        Random random = new Random(op.seed());
        List<Row> rows = presentRows(op.table(), op.rows(), random);
        if (rows.isEmpty()) {
            return null;
        }
        List<Object> parameters = new ArrayList<>();
        return new Statement("delete from " + op.table().qualified() + " where " + keyIn(op.table(), rows, parameters),
                parameters, null);
    }

    private Statement upsert(Upsert op, long v) {
        Random random = new Random(op.seed());
        Table table = op.table();
        List<List<String>> keys = new ArrayList<>();
        List<List<String>> free = freeKeys(table, op.rows(), random);
        List<Row> present = presentRows(table, op.rows(), random);
        for (int i = 0; i < op.rows(); i++) {
            boolean existing = random.nextBoolean();
            if (existing && !present.isEmpty()) {
                keys.add(present.remove(0).keyValues());
            } else if (!free.isEmpty()) {
                keys.add(free.remove(0));
            }
        }
        if (keys.isEmpty()) {
            return null;
        }
        List<String> columns = allColumns(table);
        List<List<String>> rows = new ArrayList<>();
        for (List<String> key : keys) {
            rows.add(newRow(table, key, v, random));
        }
        List<String> updated = schema.nonKeyColumns(table).stream()
                .filter(c -> c.equals("v") || !c.equals("code") || random.nextBoolean())
                .toList();
        return new Statement("insert into " + table.qualified() + " (" + String.join(", ", columns) + ") values "
                + valuesList(table, columns, rows.size()) + " on conflict (" + String.join(", ", table.keyColumns())
                + ") do update set " + updated.stream().map(c -> c + " = excluded." + c)
                .collect(Collectors.joining(", ")), flatten(rows), null);
    }

    private Statement revert(Revert op) {
        Random random = new Random(op.seed());
        Table table = op.table();
        List<String> keys = model.get().events().stream().filter(e -> e.table() == table).map(Model.Event::key)
                .distinct().sorted().toList();
        if (keys.isEmpty()) {
            return null;
        }
        String key = keys.get(random.nextInt(keys.size()));
        Row now = model.get().rows(table).get(key);
        List<Row> images = new ArrayList<>();
        for (Model.Event e : model.get().events()) {
            if (e.table() == table && e.key().equals(key)) {
                for (Row image : Arrays.asList(e.before(), e.after())) {
                    if (!Objects.equals(image, now) && !images.contains(image)
                            && (image == null || now == null || !image.json().equals(now.json()))) {
                        images.add(image);
                    }
                }
            }
        }
        if (images.isEmpty()) {
            return null;
        }
        Row image = images.get(random.nextInt(images.size()));
        if (image == null) {
            List<Object> parameters = new ArrayList<>();
            return new Statement("delete from " + table.qualified() + " where "
                    + keyIn(table, List.of(now), parameters), parameters, null);
        }
        if (now == null) {
            return new Statement("insert into " + table.qualified() + " select * from jsonb_populate_record(null::"
                    + table.qualified() + ", cast(? as jsonb))", List.of(image.json()), null);
        }
        List<String> columns = schema.nonKeyColumns(table);
        List<Object> parameters = new ArrayList<>(List.of(image.json()));
        return new Statement("update " + table.qualified() + " as t set (" + String.join(", ", columns)
                + ") = (select " + columns.stream().map(c -> "r." + c).collect(Collectors.joining(", "))
                + " from jsonb_populate_record(null::" + table.qualified() + ", cast(? as jsonb)) r) where "
                + keyIn(table, List.of(now), parameters), parameters, null);
    }

    /** {@code id = any(?)}, or {@code (a, b) in (...)}, adding the parameters. */
    private static String keyIn(Table table, List<Row> rows, List<Object> parameters) {
        if (table.compositeKey()) {
            parameters.add(rows.stream().map(r -> Integer.valueOf(r.keyValues().get(0))).toArray(Integer[]::new));
            parameters.add(rows.stream().map(r -> r.keyValues().get(1)).toArray(String[]::new));
            return "(a, b) in (select * from unnest(cast(? as int[]), cast(? as text[])))";
        }
        parameters.add(rows.stream().map(Row::id).toArray(Integer[]::new));
        return "id = any(?)";
    }

    /** An expression that changes a column from its own value, or sets a new reference or code. */
    private String expression(Table table, String column) {
        return switch (column) {
            case "code" -> "code || '✓'";
            case "parent_id", "up" -> "null";
            default -> switch (schema.payloadOf(table).get(Integer.parseInt(column.substring(1)) - 1)) {
                case NUMERIC, NUMERIC_12_2, FLOAT8 -> "-" + column;
                case TEXT -> column + " || 'é'";
                case TIMESTAMPTZ -> column + " + interval '1 day 1 microsecond'";
                case JSONB -> column + " || '{\"k\": [1, \"ü\"]}'";
                case BYTEA -> column + " || '\\x00ff'::bytea";
            };
        };
    }

    private List<String> allColumns(Table table) {
        List<String> columns = new ArrayList<>(table.keyColumns());
        columns.addAll(schema.nonKeyColumns(table));
        return columns;
    }

    /** {@code (cast(? as int), ...), (...)}: rows of typed parameters. */
    private String valuesList(Table table, List<String> columns, int rows) {
        String row = columns.stream().map(c -> "cast(? as " + schema.typeOf(table, c) + ")")
                .collect(Collectors.joining(", ", "(", ")"));
        return String.join(", ", Collections.nCopies(rows, row));
    }

    private static List<Object> flatten(List<List<String>> rows) {
        List<Object> values = new ArrayList<>();
        rows.forEach(values::addAll);
        return values;
    }

    /** A new row's values (text forms, nulls) in column order: key, extra, v, payload. */
    private List<String> newRow(Table table, List<String> key, long v, Random random) {
        List<String> row = new ArrayList<>(key);
        if (table.extra != null) {
            row.add(extraValue(table, key, random));
        }
        row.add(Long.toString(v));
        for (ColumnType type : schema.payloadOf(table)) {
            row.add(type.value(random));
        }
        return row;
    }

    /** A code (mostly unused), or a reference (mostly to an existing row). */
    private String extraValue(Table table, List<String> key, Random random) {
        int pick = random.nextInt(10);
        if (table == Table.PARENT) {
            if (pick < 2) {
                return null;
            }
            Set<String> used = new HashSet<>();
            model.get().rows(Table.PARENT).values().forEach(r -> used.add(r.extra()));
            String code = "k" + (1 + random.nextInt(2 * Keys.ID_SPACE));
            for (int i = 0; i < 5 && pick < 9 && used.contains(code); i++) {
                code = "k" + (1 + random.nextInt(2 * Keys.ID_SPACE));
            }
            return code;
        }
        if (pick == 0) {
            return null;
        }
        if (pick == 1) {
            return Integer.toString(1 + random.nextInt(Keys.ID_SPACE));
        }
        List<Integer> ids = new ArrayList<>(ids(table.referenced()));
        if (table == Table.NODE) {
            ids.add(Integer.valueOf(key.get(0)));
        }
        return ids.isEmpty() ? null : Integer.toString(ids.get(random.nextInt(ids.size())));
    }

    private Set<Integer> ids(Table table) {
        Set<Integer> ids = new java.util.TreeSet<>();
        model.get().rows(table).values().forEach(r -> ids.add(r.id()));
        return ids;
    }

    /** Up to {@code count} keys of the key space that no row has, in random order. */
    private List<List<String>> freeKeys(Table table, int count, Random random) {
        Set<List<String>> taken = new HashSet<>();
        model.get().rows(table).values().forEach(r -> taken.add(r.keyValues()));
        List<List<String>> free = new ArrayList<>();
        if (table.compositeKey()) {
            for (int a = 1; a <= Keys.A_SPACE; a++) {
                for (String b : Keys.B_VALUES) {
                    free.add(List.of(Integer.toString(a), b));
                }
            }
        } else {
            for (int id = 1; id <= Keys.ID_SPACE; id++) {
                free.add(List.of(Integer.toString(id)));
            }
        }
        free.removeIf(taken::contains);
        Collections.shuffle(free, random);
        return new ArrayList<>(free.subList(0, Math.min(count, free.size())));
    }

    /** Up to {@code count} rows there are now, in random order. */
    private List<Row> presentRows(Table table, int count, Random random) {
        TreeMap<String, Row> rows = model.get().rows(table);
        List<Row> present = new ArrayList<>(rows.values());
        Collections.shuffle(present, random);
        return new ArrayList<>(present.subList(0, Math.min(count, present.size())));
    }

    /** A CSV field: quoted unless null. */
    private static String csv(String value) {
        return value == null ? "" : "\"" + value.replace("\"", "\"\"") + "\"";
    }
}
