package org.etlrollback.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.name;
import static org.jooq.impl.DSL.table;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.etlrollback.TestDatabase;
import org.jooq.Condition;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.Record;
import org.jooq.SQLDialect;
import org.jooq.SelectOnConditionStep;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every value a tracked table can hold is logged bit for bit: the typed log column holds the same
 * binary image as the table column (record_image_eq, which also tells 1.0 from 1.00, -0 from 0 and
 * compares json and xml, which have no equality), and the changes view equals to_jsonb of the row.
 * The changes are made with extra_float_digits = 0, under which a float printed as text loses digits.
 */
class ExactValuesIT {

    private static final String SAMPLE_ROWS = """
        insert into public.sample values
        (1, 12345678901234567890.123456789012345678901234567890, 1.50000000000000000000,
         '3.14159274'::real, 0.1::float8 + 0.2::float8,
         '2024-02-29 12:34:56.789012+05:30', '1 year 2 mons -3 days 04:05:06.789012', '\\x00ff10',
         '[2:3]={7,8}', '[0:1][1:2]={{a,NULL},{"c d","e\\"f"}}', 'happy', '[3:3]={ok}', '(1,"x""y")', 5, 'short',
         'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '192.168.0.1/24', 'a fat cat sat'::tsvector, 12.34,
         '{"a":1,  "a":2 , "b" : [1, 2.50]}', '{"z": 1, "a": [1, 2.50], "u": "\\u00e9"}', '<a x="1"> t </a>',
         'héllo ✓ 😀 e\u0301', 'ab', B'101', '[1,10)'),
        (2, 'NaN', -0.00000000000000000001, 'NaN', 'Infinity',
         'infinity', '-178000000 years', '\\x', '{}', '{}', 'sad', '{}', '(,)', 1, '',
         '00000000-0000-0000-0000-000000000000', '::1/128', '', -0.01,
         '  [ ]  ', 'null', 'text <b>x</b> tail', '', '     ', B'', 'empty'),
        (3, '-1e-30', 99999999999999999999.99999999999999999999, '-Infinity', '-Infinity',
         '-infinity', '-0.000001 seconds', '\\x00', '[-5:-4]={-1,NULL}', '{NULL}', 'ok', '{sad,NULL}', '(-1,)', 2147483647,
         'ten chars!', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '10.0.0.0/8', 'x:1A,2B y:3', '-92233720368547758.08',
         '{"n": 1e400, "s": "\\ud83d\\ude00"}', '{"n": 1e-7, "d": 1.000}', '<?xml version="1.0"?><r/>',
         E'line\\nbreak\\ttab', 'abcde', B'11111111', '(,)'),
        (4, 0.000000000000000000000000000001000, 0, 1.17549435e-38::real, '-0',
         '1970-01-01 00:00:00+00', '0', '\\xdeadbeef', '{1,2,3}', '{{""}}', 'happy', '{happy,sad}', '(0,"")', 3, 'x',
         'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', '2001:db8::/32', 'supernovae:1A', 0,
         '"\\u00e9 \\""', '[1, "1", 1.0]', '', '\\', 'a', B'0', '[-5,5]'),
        (5, 1e-1000, 0.00000000000000000001, 1e-45::real, 5e-324,
         '2000-01-01 00:00:00.000001+14', '1 mon 1 day 00:00:00.000001', null, '{{1,2},{3,4}}', '[5:5]={z}', null, null, null,
         null, null, null, null, null, null, '{}', '{}', null, null, null, null, null),
        (6, null, null, '3.4028235e38'::real, 1.7976931348623157e308,
         null, null, null, null, null, null, null, null, null, null, null, null, null, null,
         null, null, null, null, null, null, null)
        """;

    private static TestDatabase db;

    private Session s;

    @BeforeAll
    static void createSample() throws SQLException {
        db = TestDatabase.forClass(ExactValuesIT.class);
        try (Session setup = new Session(db.connect())) {
            setup.exec("create type public.mood as enum ('sad', 'ok', 'happy')",
                       "create type public.pair as (a int, b text)",
                       "create domain public.positive as int check (value > 0)",
                       "create domain public.label as varchar(10)",
                       """
                       create table public.sample (
                           id int primary key, n numeric, n_scaled numeric(40, 20), f4 real, f8 double precision,
                           ts timestamptz, iv interval, bin bytea, ints int[], texts text[], mood public.mood,
                           moods public.mood[], pair public.pair, positive public.positive, label public.label,
                           u uuid, ip inet, tv tsvector, m money, j json, jb jsonb, x xml, t text, ch char(5),
                           bits bit varying(8), r int4range)
                       """,
                       "select etl_rollback.track('public.sample')");
        }
    }

    @BeforeEach
    void connect() throws SQLException {
        s = new Session(db.connect());
        s.exec("set extra_float_digits = 0", "truncate public.sample", "drop table if exists public.expected");
    }

    @AfterEach
    void disconnect() throws SQLException {
        s.close();
    }

    /** Freezes the table's current rows, with their exact types, as the images the log must hold. */
    private void freezeExpected() throws SQLException {
        s.exec("create table public.expected as select * from public.sample");
    }

    @Test
    void insertedValuesAreLoggedBitForBit() throws SQLException {
        s.tag("exact-insert");
        s.exec(SAMPLE_ROWS);
        freezeExpected();

        assertLogged("exact-insert", "n");
        assertThat(viewMatches("exact-insert", "new_row")).isEqualTo(6);
    }

    @Test
    void valuesBeforeAndAfterAnUpdateAreLoggedBitForBit() throws SQLException {
        s.exec(SAMPLE_ROWS);
        freezeExpected();
        s.tag("exact-update");
        s.exec("update public.sample set id = -id");

        assertLogged("exact-update", "o");
        assertThat(viewMatches("exact-update", "old_row")).isEqualTo(6);
        s.exec("truncate public.expected", "insert into public.expected select * from public.sample");
        assertLogged("exact-update", "n");
        assertThat(viewMatches("exact-update", "new_row")).isEqualTo(6);
    }

    @Test
    void deletedValuesAreLoggedBitForBit() throws SQLException {
        s.exec(SAMPLE_ROWS);
        freezeExpected();
        s.tag("exact-delete");
        s.exec("delete from public.sample");

        assertLogged("exact-delete", "o");
        assertThat(viewMatches("exact-delete", "old_row")).isEqualTo(6);
    }

    @Test
    void truncatedValuesAreSavedBitForBit() throws SQLException {
        s.exec(SAMPLE_ROWS);
        freezeExpected();
        s.tag("exact-truncate");
        s.exec("truncate public.sample");

        assertLogged("exact-truncate", "o");
        assertThat(viewMatches("exact-truncate", "old_row")).isEqualTo(6);
    }

    @Test
    void jsonIsLoggedWithItsDuplicateKeysAndWhitespace() throws SQLException {
        s.tag("exact-json");
        s.exec(SAMPLE_ROWS);

        assertThat(logged("exact-json", "n", "j")).containsExactly(
            "{\"a\":1,  \"a\":2 , \"b\" : [1, 2.50]}", "  [ ]  ", "{\"n\": 1e400, \"s\": \"\\ud83d\\ude00\"}",
            "\"\\u00e9 \\\"\"", "{}", null);
    }

    @Test
    void arraysKeepTheirBoundsInTheLog() throws SQLException {
        s.tag("exact-array");
        s.exec(SAMPLE_ROWS);

        assertThat(logged("exact-array", "n", "ints")).containsExactly(
            "[2:3]={7,8}", "{}", "[-5:-4]={-1,NULL}", "{1,2,3}", "{{1,2},{3,4}}", null);
        assertThat(logged("exact-array", "n", "texts")).containsExactly(
            "[0:1][1:2]={{a,NULL},{\"c d\",\"e\\\"f\"}}", "{}", "{NULL}", "{{\"\"}}", "[5:5]={z}", null);
    }

    @Test
    void floatsNeedingSeventeenDigitsSurviveACaptureUnderExtraFloatDigitsZero() throws SQLException {
        s.tag("exact-float");
        s.exec(SAMPLE_ROWS);

        assertThat(logged("exact-float", "n", "f4")).containsExactly(
            "3.1415927", "NaN", "-Infinity", "1.1754944e-38", "1e-45", "3.4028235e+38");
        assertThat(logged("exact-float", "n", "f8")).containsExactly(
            "0.30000000000000004", "Infinity", "-Infinity", "-0", "5e-324", "1.7976931348623157e+308");
    }

    private static Field<Object> column(String table, String column) {
        return field(name(table, column));
    }

    private static Field<String> asText(Field<?> value) {
        return DSL.field("{0}::text", String.class, value);
    }

    private String logTable() throws SQLException {
        return s.text("select 'log_' || table_id from etl_rollback.tracked_table where table_name = 'public.sample'");
    }

    /** The log column of a table column, for its before-image (o) or after-image (n): "o3", "n3". */
    private String logColumn(String image, String column) throws SQLException {
        return image + s.text("select c.position from etl_rollback.tracked_column c join etl_rollback.tracked_table t"
                              + " using (table_id) where t.table_name = 'public.sample' and c.column_name = ?", column);
    }

    /** The log rows of a migration joined with an expected table on the key, id. */
    private SelectOnConditionStep<Record> logRows(DSLContext dsl, List<Field<?>> fields, String migrationId, String image,
                                                  String joined) throws SQLException {
        return dsl.select(fields)
            .from(table(name("etl_rollback", logTable())).as("l"))
            .join(table(name("etl_rollback", "statement")).as("st")).on(column("st", "stmt").eq(column("l", "stmt")))
            .join(table(name("etl_rollback", "migration")).as("m"))
            .on(column("m", "mig").eq(column("st", "mig")).and(column("m", "migration_id").eq(migrationId)))
            .join(table(name("public", joined)).as("e")).on(column("l", logColumn(image, "id")).eq(column("e", "id")));
    }

    /** One column of the images logged under a migration, as text with extra_float_digits = 3, by id. */
    private List<String> logged(String migrationId, String image, String column) throws SQLException {
        s.exec("set extra_float_digits = 3");
        DSLContext dsl = DSL.using(s.connection(), SQLDialect.POSTGRES);
        return logRows(dsl, List.of(asText(column("l", logColumn(image, column)))), migrationId, image, "sample")
            .orderBy(column("e", "id"))
            .fetch(0, String.class);
    }

    /**
     * Compares, column by column, the before-images (o) or after-images (n) logged under a migration
     * with the rows of public.expected, paired by id: every row must be paired, and every value must
     * have the same binary image as in the table.
     */
    private void assertLogged(String migrationId, String image) throws SQLException {
        s.exec("set extra_float_digits = 3");
        DSLContext dsl = DSL.using(s.connection(), SQLDialect.POSTGRES);
        List<List<String>> columns = s.query("select c.column_name, c.type_name from etl_rollback.tracked_column c"
                                             + " join etl_rollback.tracked_table t using (table_id)"
                                             + " where t.table_name = 'public.sample' and not c.dropped order by c.position");
        assertThat(columns).hasSize(26);
        assertThat(logRows(dsl, List.of(column("e", "id")), migrationId, image, "expected").fetch())
            .as("log rows paired with a row of the table").hasSize(6);

        List<String> differences = new ArrayList<>();
        for (List<String> c : columns) {
            Field<Object> logged = column("l", logColumn(image, c.get(0)));
            Field<Object> expected = column("e", c.get(0));
            Condition same = DSL.condition("record_image_eq(row({0}), row({1}::{2}))", logged, expected, DSL.sql(c.get(1)));
            for (Record r : logRows(dsl, List.of(asText(column("e", "id")), asText(logged), asText(expected)),
                                    migrationId, image, "expected").where(DSL.not(same)).fetch()) {
                differences.add(String.format("id %s, %s: logged %s, table %s", r.get(0), c.get(0), r.get(1), r.get(2)));
            }
        }
        assertThat(differences).isEmpty();
    }

    /** How many changes of the migration show, as the given image, exactly to_jsonb of an expected row. */
    private long viewMatches(String migrationId, String image) throws SQLException {
        DSLContext dsl = DSL.using(s.connection(), SQLDialect.POSTGRES);
        return dsl.fetchCount(dsl.selectOne()
            .from(table(name("etl_rollback", "changes")).as("c"))
            .join(table(name("public", "expected")).as("e"))
            .on(DSL.condition("{0} = to_jsonb({1})", column("c", image), name("e")))
            .where(column("c", "migration_id").eq(migrationId)));
    }
}
