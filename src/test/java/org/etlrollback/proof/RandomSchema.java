package org.etlrollback.proof;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

/**
 * The tables a randomized history writes, in schema {@code prop}: a parent and a child table joined by a foreign
 * key, a self-referencing tree, and a table with a composite key. What varies between histories: the payload
 * columns and their types, the foreign keys' delete actions and deferrability, whether the unique code of
 * the parents is deferrable, and whether the composite key is a primary key or a unique key on non-null columns.
 *
 * @param payload         per table (in {@link Table} order), the types of its payload columns c1, c2, ...
 * @param childOnDelete   delete action of child.parent_id
 * @param nodeOnDelete    delete action of node.up
 * @param deferrableKeys  whether both foreign keys are DEFERRABLE (a rollback defers them to its commit)
 * @param deferrableCode  whether the unique key on parent.code is DEFERRABLE
 * @param pairUniqueKey   whether pair is identified by a unique key on non-null columns instead of a primary key
 * @param seed            drives the initial rows
 */
record RandomSchema(List<List<ColumnType>> payload, DeleteAction childOnDelete, DeleteAction nodeOnDelete,
                    boolean deferrableKeys, boolean deferrableCode, boolean pairUniqueKey, int seed) {

    static final String SCHEMA = "prop";

    RandomSchema {
        payload = payload.stream().map(List::copyOf).toList();
    }

    /** The four tables; the key columns are int {@code id}, or int {@code a} and text {@code b}. */
    enum Table {
        PARENT("parent", "code"), CHILD("child", "parent_id"), NODE("node", "up"), PAIR("pair", null);

        final String name;
        /** The column a table has besides its key, v and payload: a unique code or a reference; null for none. */
        final String extra;

        Table(String name, String extra) {
            this.name = name;
            this.extra = extra;
        }

        String qualified() {
            return SCHEMA + "." + name;
        }

        boolean compositeKey() {
            return this == PAIR;
        }

        List<String> keyColumns() {
            return compositeKey() ? List.of("a", "b") : List.of("id");
        }

        /** The table a reference column points at: parent for child, node for node; null for none. */
        Table referenced() {
            return switch (this) {
                case CHILD -> PARENT;
                case NODE -> NODE;
                default -> null;
            };
        }
    }

    enum DeleteAction {
        NO_ACTION("no action"), CASCADE("cascade"), SET_NULL("set null");

        final String sql;

        DeleteAction(String sql) {
            this.sql = sql;
        }
    }

    /** The payload column types, each with values that stress exactness: scales, -0, NaN, unicode, infinities. */
    enum ColumnType {
        NUMERIC("numeric", "0", "1.0", "1.00", "-12.345", "123456789012345678901234567890.123456789", "0.000001",
                "-0.5"),
        NUMERIC_12_2("numeric(12,2)", "0", "1.5", "-1.25", "9999999999.99", "0.01", "42"),
        FLOAT8("float8", "0", "-0", "1.5", "0.30000000000000004", "1e-300", "-1.7976931348623157e308",
                "Infinity", "-Infinity", "NaN"),
        TEXT("text", "", "plain", "Ωmega ✓ 漢字 😀", "e\u0301", "שלום", "it's \"quoted\"; --", "back\\slash",
                "line\nbreak\ttab", "NULL"),
        TIMESTAMPTZ("timestamptz", "2024-02-29 12:34:56.789012+00", "1999-12-31 23:59:59.999999-08", "infinity",
                "-infinity", "2000-01-01 00:00:00+05:30", "0044-03-15 12:00:00+00 BC"),
        JSONB("jsonb", "{}", "[]", "null", "{\"a\": 1, \"b\": [true, null, 1.50]}", "\"ü😀\"",
                "{\"nested\": {\"k\": \"v'q\"}}", "12345678901234567890.5"),
        BYTEA("bytea", "\\x", "\\x00", "\\x00ff10", "\\x5c27223b");

        final String sql;
        private final List<String> samples;

        ColumnType(String sql, String... samples) {
            this.sql = sql;
            this.samples = List.of(samples);
        }

        /** A value in the type's text input form, or null. */
        String value(Random random) {
            int pick = random.nextInt(samples.size() + 3);
            if (pick == 0) {
                return null;
            }
            if (pick <= samples.size()) {
                return samples.get(pick - 1);
            }
            return switch (this) {
                case NUMERIC -> random.nextInt(100000) + "." + random.nextInt(1000);
                case NUMERIC_12_2 -> (random.nextInt(2000000) - 1000000) / 100.0 + "";
                case FLOAT8 -> Double.toString(random.nextGaussian() * Math.pow(10, random.nextInt(40) - 20));
                case TEXT -> "t" + random.nextInt(1000) + (random.nextBoolean() ? " ☃" : "");
                case TIMESTAMPTZ -> "2026-%02d-%02d %02d:%02d:%02d.%06d+00".formatted(1 + random.nextInt(12),
                        1 + random.nextInt(28), random.nextInt(24), random.nextInt(60), random.nextInt(60),
                        random.nextInt(1000000));
                case JSONB -> "{\"n\": " + random.nextInt(1000) + ", \"s\": \"x" + random.nextInt(10) + "\"}";
                case BYTEA -> {
                    byte[] bytes = new byte[random.nextInt(40)];
                    random.nextBytes(bytes);
                    yield "\\x" + HexFormat.of().formatHex(bytes);
                }
            };
        }
    }

    List<ColumnType> payloadOf(Table table) {
        return payload.get(table.ordinal());
    }

    /** The columns of a table that are not its key, in table order. */
    List<String> nonKeyColumns(Table table) {
        List<String> columns = new ArrayList<>();
        if (table.extra != null) {
            columns.add(table.extra);
        }
        columns.add("v");
        for (int i = 1; i <= payloadOf(table).size(); i++) {
            columns.add("c" + i);
        }
        return columns;
    }

    /** The SQL type of a non-key column. */
    String typeOf(Table table, String column) {
        return switch (column) {
            case "id", "a", "parent_id", "up" -> "int";
            case "b", "code" -> "text";
            case "v" -> "bigint";
            default -> payloadOf(table).get(Integer.parseInt(column.substring(1)) - 1).sql;
        };
    }

    /** Creates the tables (dropping the schema first), fills them, and tracks them. */
    String ddl() {
        String deferrable = deferrableKeys ? " deferrable" : "";
        StringBuilder sql = new StringBuilder();
        sql.append("drop schema if exists ").append(SCHEMA).append(" cascade;\n");
        sql.append("create schema ").append(SCHEMA).append(";\n");
        sql.append("create table prop.parent (id int primary key, code text unique")
                .append(deferrableCode ? " deferrable" : "").append(", v bigint not null")
                .append(payloadDdl(Table.PARENT)).append(");\n");
        sql.append("create table prop.child (id int primary key, parent_id int references prop.parent (id) on delete ")
                .append(childOnDelete.sql).append(deferrable).append(", v bigint not null")
                .append(payloadDdl(Table.CHILD)).append(");\n");
        sql.append("create table prop.node (id int primary key, up int references prop.node (id) on delete ")
                .append(nodeOnDelete.sql).append(deferrable).append(", v bigint not null")
                .append(payloadDdl(Table.NODE)).append(");\n");
        sql.append("create table prop.pair (a int not null, b text not null, v bigint not null")
                .append(payloadDdl(Table.PAIR)).append(pairUniqueKey ? ", unique (a, b)" : ", primary key (a, b)")
                .append(");\n");
        sql.append(initialRows());
        for (Table table : Table.values()) {
            sql.append("select etl_rollback.track('").append(table.qualified()).append("');\n");
        }
        return sql.toString();
    }

    private String payloadDdl(Table table) {
        StringBuilder sql = new StringBuilder();
        List<ColumnType> types = payloadOf(table);
        for (int i = 0; i < types.size(); i++) {
            sql.append(", c").append(i + 1).append(' ').append(types.get(i).sql);
        }
        return sql.toString();
    }

    /** A few rows per table before tracking starts, so that the first migration finds something to change. */
    private String initialRows() {
        Random random = new Random(seed);
        StringBuilder sql = new StringBuilder();
        int parents = 2 + random.nextInt(4);
        for (int id = 1; id <= parents; id++) {
            sql.append(insert(Table.PARENT, List.of(Integer.toString(id)),
                    random.nextInt(3) == 0 ? null : "k" + id, random));
        }
        for (int id = 1; id <= 1 + random.nextInt(5); id++) {
            sql.append(insert(Table.CHILD, List.of(Integer.toString(id)),
                    Integer.toString(1 + random.nextInt(parents)), random));
        }
        int nodes = 1 + random.nextInt(5);
        for (int id = 1; id <= nodes; id++) {
            sql.append(insert(Table.NODE, List.of(Integer.toString(id)),
                    id == 1 || random.nextInt(4) == 0 ? null : Integer.toString(1 + random.nextInt(id - 1)), random));
        }
        for (int a = 1; a <= 2; a++) {
            sql.append(insert(Table.PAIR, List.of(Integer.toString(a), Keys.B_VALUES.get(random.nextInt(3))), null,
                    random));
        }
        return sql.toString();
    }

    private String insert(Table table, List<String> key, String extra, Random random) {
        List<String> values = new ArrayList<>();
        key.forEach(k -> values.add(literal(k)));
        if (table.extra != null) {
            values.add(literal(extra));
        }
        values.add("0");
        for (ColumnType type : payloadOf(table)) {
            values.add(literal(type.value(random)) + "::" + type.sql);
        }
        return "insert into " + table.qualified() + " values (" + String.join(", ", values) + ");\n";
    }

    private static String literal(String value) {
        return value == null ? "null" : "'" + value.replace("'", "''") + "'";
    }
}
