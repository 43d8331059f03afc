package org.etlrollback.rollback;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.SQLException;
import org.etlrollback.RollbackOptions;
import org.etlrollback.RollbackResult;
import org.etlrollback.TestDatabase;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every value comes back bit for bit, whatever its type: the rollback restores the before-images the capture
 * logged, through the set-based executor and through the SQL script alike.
 */
class DataTypesRollbackIT {
    private static final Scenario DB = new Scenario(TestDatabase.forClass(DataTypesRollbackIT.class));
    private static final String TABLE = "dt.everything";

    /** A migration written by a session that prints floats with 15 significant digits only. */
    private static final String MIGRATION = """
            set extra_float_digits = 0;
            update dt.everything set num = 1, num_scaled = null, f4 = 0.1, f8 = f8 * 3, ts = now(), iv = null,
                bin = '\\x01', ints = '{9}', shifted = '{7,8}', grid = null, mood = 'ok', sample = '(2,y,)',
                pct = 1, uid = null, addr = '10.1.1.1', words = 'z', price = 1, js = '{"a":2}', jsb = '{}',
                doc = '<b/>', txt = 'plain', pad = 'q'
              where id = 1;
            update dt.everything set num = 0.1, num_scaled = 0.5, f4 = 1, f8 = 1, ts = 'epoch', iv = '1s',
                bin = '\\x', ints = '{}', shifted = '[7:7]={1}', grid = '{{q}}', mood = 'sad', sample = '(,,)',
                pct = 50, uid = gen_random_uuid(), addr = '::ffff:1.2.3.4', words = 'w', price = 0,
                js = ' { } ', jsb = '[]', doc = 'x', txt = 'x', pad = 'r  '
              where id = 3;
            update dt.everything set f8 = f8 / 3, f4 = f4 * 3, num = num / 7 where id >= 10;
            update dt.everything set shifted = shifted || 9, grid = grid || '{z}'::text[] where id in (2, 4);
            create temp table copies as select * from dt.everything where id <= 5;
            update copies set id = id + 100;
            insert into dt.everything select * from copies;
            insert into dt.everything (id) values (200);
            insert into dt.everything (id, f4, f8, num) values (201, 16777217, 0.1 + 0.2, 2::numeric / 3);
            delete from dt.everything where id in (2, 5, 11);
            """;

    /**
     * The types outlive the tests: dropping a type would cascade to the columns of the logs of the tables dropped
     * before, and from there to the changes view.
     */
    @BeforeAll
    static void types() throws SQLException {
        DB.sql("""
                create schema dt;
                create type dt.mood as enum ('sad', 'ok', 'happy');
                create type dt.sample as (x double precision, label text, at timestamptz);
                create domain dt.percent as numeric(5,2) check (value between 0 and 100);
                """);
    }

    @BeforeEach
    void table() throws SQLException {
        DB.forgetMigrations();
        DB.sql("""
                drop table if exists dt.everything, dt.before_migration, dt.after_migration;
                create table dt.everything (
                    id int primary key,
                    num numeric,
                    num_scaled numeric(40,30),
                    f4 real,
                    f8 double precision,
                    ts timestamptz,
                    iv interval,
                    bin bytea,
                    ints int[],
                    shifted int[],
                    grid text[],
                    mood dt.mood,
                    sample dt.sample,
                    pct dt.percent,
                    uid uuid,
                    addr inet,
                    words tsvector,
                    price money,
                    js json,
                    jsb jsonb,
                    doc xml,
                    txt text,
                    pad bpchar);
                insert into dt.everything values
                  (1, 'NaN', 1.123456789012345678901234567890, 'NaN', 'Infinity', '2021-03-04 05:06:07.123456+02',
                   '1 year 2 mons 3 days 04:05:06.789', '\\x00ff10', '{1,2,3}', '[2:3]={7,8}',
                   '{{a,b},{"c d",NULL}}', 'happy', '(1.5,"a,b","2020-01-01 00:00:00+00")', 12.50,
                   'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '192.168.0.1/24', 'a:1 fat:2B cat', 12.34,
                   '{"a":1,  "a" : 2 }', '{"b": [1, 2.50, null]}', '<a x="1">t &amp; u</a>', 'Ünïcödé 😀 中文', 'ab  '),
                  (2, 123456789012345678901234567890.123456789012345678901234567890,
                   0.000000000000000000000000000001, '-Infinity', 0.30000000000000004, '-infinity',
                   '-3 days -00:00:00.000001', '\\x', '{}', '[0:0]={-1}', '{}', 'sad', '(-0,"",)', 0,
                   '00000000-0000-0000-0000-000000000000', '::1', '', -0.01, '[ 1,1 ]', 'null',
                   '<?xml version="1.0"?><r/>', '', ' '),
                  (3, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
                   null, null, null, null, null, null, null),
                  (4, 1.500, 2.50, 3.4028235e38, 1.7976931348623157e308, 'infinity', '0', '\\xdeadbeef',
                   '{-2147483647,null}', '[-5:-4]={1,2}', '{x}', 'ok', '(1e-300,"x",infinity)', 100,
                   'ffffffff-ffff-ffff-ffff-ffffffffffff', '10.0.0.0/8', 'b', 0, '"s"', '{"k": {"n": 1.0}}',
                   'text only', E'tab\\there\\nnew line \\\\ back', ''),
                  (5, -0.000, 1, 1.17549435e-38, '-0', '1999-12-31 23:59:59.999999+14', '-1 mons +1 days', '\\x00',
                   '{{1,2},{3,4}}', '[1:1][3:4]={{5,6}}', '{"\\"quoted\\""}', 'happy', '(,,)', 0.01,
                   '12345678-1234-5678-1234-567812345678', '2001:db8::/32', '''it''''s'':1', '-92233720368547758.08',
                   '{"z": 1, "a": [true, false]}', '{"z": 1, "a": [true, false]}', '<!-- c --><a/>',
                   'עברית العربية ﷽', 'x\t ');
                insert into dt.everything (id, num, f4, f8, ts, iv)
                  select g, g / 7.0, (g / 7.0)::real, g / 7.0::float8, 'epoch'::timestamptz + g * interval '1.000001 s',
                         g * interval '1 day 1 microsecond'
                    from generate_series(10, 40) g;
                create table dt.before_migration as select * from dt.everything;
                select etl_rollback.track('dt.everything');
                """);
    }

    @Test
    void rollbackRestoresEveryTypeBitForBit() throws SQLException {
        String before = DB.rows(TABLE);
        DB.tagged("m1", MIGRATION);
        assertThat(DB.rows(TABLE)).isNotEqualTo(before);
        assertThat(differingRows("dt.before_migration")).as("rows the migration changed").isEqualTo(43);

        RollbackResult result = DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true));

        assertThat(result.outcome()).isEqualTo(RollbackResult.Outcome.ROLLED_BACK);
        assertThat(result.tables()).singleElement().satisfies(t -> {
            assertThat(t.deleted()).isEqualTo(7);
            assertThat(t.inserted()).isEqualTo(3);
            assertThat(t.updated()).isEqualTo(33);
        });
        assertThat(DB.rows(TABLE)).isEqualTo(before);
        assertThat(differingRows("dt.before_migration")).isZero();
    }

    @Test
    void undoingTheRollbackRestoresTheMigrationsValuesBitForBit() throws SQLException {
        DB.tagged("m1", MIGRATION);
        DB.sql("create table dt.after_migration as select * from dt.everything");
        String after = DB.rows(TABLE);
        DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true));
        assertThat(differingRows("dt.before_migration")).isZero();

        DB.reverser().rollback("rollback:m1", RollbackOptions.defaults().withVerify(true));

        assertThat(DB.rows(TABLE)).isEqualTo(after);
        assertThat(differingRows("dt.after_migration")).isZero();
    }

    @Test
    void sqlScriptRestoresEveryTypeBitForBit(@TempDir Path dir) throws Exception {
        String before = DB.rows(TABLE);
        DB.tagged("m1", MIGRATION);
        Path script = dir.resolve("rollback.sql");
        DB.reverser().rollback("m1", RollbackOptions.defaults().withDryRun(true).withSqlFile(script));

        // a session that prints floats with 15 digits and intervals in SQL standard style, as psql might be set up
        DB.runScript(script, "set extra_float_digits = 0; set intervalstyle = 'sql_standard';\n");

        assertThat(DB.rows(TABLE)).isEqualTo(before);
        assertThat(differingRows("dt.before_migration")).isZero();
    }

    /** How many rows differ, bit for bit, between dt.everything and the snapshot (present in one only included). */
    private static long differingRows(String snapshot) {
        return DB.count("select count(*) from dt.everything e full join " + snapshot + " s on s.id = e.id"
                + " where e.id is null or s.id is null or not (e operator(pg_catalog.*=) s)");
    }
}
