package org.etlrollback.capture;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.List;
import org.etlrollback.TestDatabase;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * track() and untrack(): which tables are accepted and with which key, what tracking again and
 * untracking do to the capture and to the log.
 */
class TrackingIT {

    private static TestDatabase db;

    private Session s;

    @BeforeAll
    static void createDatabase() {
        db = TestDatabase.forClass(TrackingIT.class);
    }

    @BeforeEach
    void connect() throws SQLException {
        s = new Session(db.connect());
    }

    @AfterEach
    void disconnect() throws SQLException {
        s.close();
    }

    private List<String> triggersOn(String table) throws SQLException {
        return s.column("select tgname::text from pg_trigger where tgrelid = ?::regclass and not tgisinternal order by 1", table);
    }

    private List<String> keyOf(String table) throws SQLException {
        return s.column("select unnest(key_columns) from etl_rollback.tracked_tables where table_name = ?", table);
    }

    private static final List<String> CAPTURE_TRIGGERS =
        List.of("etl_rollback_capture_d", "etl_rollback_capture_i", "etl_rollback_capture_t", "etl_rollback_capture_u");

    @Test
    void tableWithoutAKeyIsRefusedNamingTheTable() throws SQLException {
        s.exec("create schema crm", "create table crm.visit (at timestamptz, page text)");

        SQLException e = s.error("select etl_rollback.track('crm.visit')");
        assertThat(e.getSQLState()).isEqualTo("42P10");
        assertThat(e.getMessage())
            .contains("track: table crm.visit has neither a primary key nor a unique key on non-null columns");
        assertThat(s.number("select count(*) from etl_rollback.tracked_table where table_name = 'crm.visit'")).isZero();
        assertThat(triggersOn("crm.visit")).isEmpty();
    }

    @Test
    void tableWhoseUniqueKeysAllowNullsOrArePartialOrExpressionsIsRefused() throws SQLException {
        s.exec("create table public.loose (a int, b int not null, c text not null, unique (a, b))",
               "create unique index loose_partial on public.loose (b) where b > 0",
               "create unique index loose_expression on public.loose (lower(c))");

        SQLException e = s.error("select etl_rollback.track('public.loose')");
        assertThat(e.getSQLState()).isEqualTo("42P10");
        assertThat(e.getMessage()).contains("track: table public.loose has neither a primary key nor a unique key");
    }

    @Test
    void uniqueKeyOnNonNullColumnsIsAcceptedAsTheKey() throws SQLException {
        s.exec("create table public.country (name text unique, iso char(2) not null, num int not null, unique (num, iso))",
               "create unique index country_iso on public.country (iso)",
               "select etl_rollback.track('public.country')");
        s.tag("unique-key");
        s.exec("insert into public.country values ('France', 'FR', 250)",
               "update public.country set iso = 'FX'");

        // the non-null unique key with the fewest columns
        assertThat(keyOf("public.country")).containsExactly("iso");
        assertThat(s.changes("unique-key")).containsExactly(
            s.inserted("public.country", "{\"iso\": \"FR\"}", "{\"name\": \"France\", \"iso\": \"FR\", \"num\": 250}"),
            s.updated("public.country", "{\"iso\": \"FR\"}", "{\"name\": \"France\", \"iso\": \"FR\", \"num\": 250}",
                      "{\"name\": \"France\", \"iso\": \"FX\", \"num\": 250}"));
    }

    @Test
    void primaryKeyIsTheKeyEvenWhenAShorterUniqueKeyExistsAndKeepsItsColumnOrder() throws SQLException {
        s.exec("create table public.stay (guest int, night date, room int not null unique, primary key (night, guest))",
               "select etl_rollback.track('public.stay')");
        s.tag("composite-key");
        s.exec("insert into public.stay values (7, '2024-01-01', 101)");

        assertThat(keyOf("public.stay")).containsExactly("night", "guest");
        assertThat(s.changes("composite-key")).extracting(Session.Change::pk)
            .containsExactly(s.jsonb("{\"night\": \"2024-01-01\", \"guest\": 7}"));
    }

    @Test
    void trackingTwiceIsHarmless() throws SQLException {
        s.exec("create table public.twice (id int primary key, v text)");
        assertThat(s.text("select etl_rollback.track('public.twice')")).isEqualTo("public.twice");
        String since = s.text("select tracked_since::text from etl_rollback.tracked_tables where table_name = 'public.twice'");
        assertThat(s.text("select etl_rollback.track('public.twice')")).isEqualTo("public.twice");
        s.tag("twice");
        s.exec("insert into public.twice values (1, 'a')", "update public.twice set v = 'b'", "truncate public.twice");

        assertThat(s.query("select table_name, tracked_since::text from etl_rollback.tracked_tables where table_name = 'public.twice'"))
            .containsExactly(List.of("public.twice", since));
        assertThat(triggersOn("public.twice")).isEqualTo(CAPTURE_TRIGGERS);
        assertThat(s.changes("twice")).containsExactly(
            s.inserted("public.twice", "{\"id\": 1}", "{\"id\": 1, \"v\": \"a\"}"),
            s.updated("public.twice", "{\"id\": 1}", "{\"id\": 1, \"v\": \"a\"}", "{\"id\": 1, \"v\": \"b\"}"),
            s.truncated("public.twice", "{\"id\": 1}", "{\"id\": 1, \"v\": \"b\"}"));
    }

    @Test
    void trackingAPartitionIsRefusedNamingItsParent() throws SQLException {
        s.exec("create schema sales",
               "create table sales.orders (region text, id int, primary key (region, id)) partition by list (region)",
               "create table sales.orders_eu partition of sales.orders for values in ('eu')");

        SQLException e = s.error("select etl_rollback.track('sales.orders_eu')");
        assertThat(e.getSQLState()).isEqualTo("42809");
        assertThat(e.getMessage()).contains("track: sales.orders_eu is a partition of sales.orders; track the partitioned table instead");
        assertThat(triggersOn("sales.orders_eu")).isEmpty();
    }

    @Test
    void trackingWhatIsNotAPlainOrPartitionedTableIsRefused() throws SQLException {
        s.exec("create table public.base (id int primary key)",
               "create view public.base_view as select * from public.base",
               "create table public.heir (extra int) inherits (public.base)",
               "create temporary table scratch (id int primary key)");

        assertThat(s.error("select etl_rollback.track('public.nowhere')").getMessage())
            .contains("track: table 'public.nowhere' does not exist");
        assertThat(s.error("select etl_rollback.track('public.base_view')").getMessage())
            .contains("track: public.base_view is not a table");
        assertThat(s.error("select etl_rollback.track('public.base')").getMessage())
            .contains("track: public.base takes part in table inheritance");
        assertThat(s.error("select etl_rollback.track('scratch')").getMessage())
            .contains("is a temporary table");
        assertThat(s.error("select etl_rollback.track('etl_rollback.migration')").getMessage())
            .contains("track: etl_rollback.migration belongs to etl-rollback itself");
    }

    @Test
    void untrackStopsLoggingButKeepsTheLog() throws SQLException {
        s.exec("create table public.retired (id int primary key, v text)",
               "select etl_rollback.track('public.retired')");
        s.tag("before-untrack");
        s.exec("insert into public.retired values (1, 'logged')");
        assertThat(s.text("select etl_rollback.untrack('public.retired')")).isEqualTo("public.retired");
        s.tag("after-untrack");
        s.exec("insert into public.retired values (2, 'not logged')",
               "update public.retired set v = 'not logged either'",
               "truncate public.retired");

        assertThat(triggersOn("public.retired")).isEmpty();
        assertThat(s.column("select table_name from etl_rollback.tracked_tables")).doesNotContain("public.retired");
        assertThat(s.changes("after-untrack")).isEmpty();
        assertThat(s.changes("before-untrack")).containsExactly(
            s.inserted("public.retired", "{\"id\": 1}", "{\"id\": 1, \"v\": \"logged\"}"));
        assertThat(s.error("select etl_rollback.untrack('public.retired')").getMessage())
            .contains("untrack: table 'public.retired' is not tracked");
    }

    @Test
    void trackingAgainAfterUntrackResumesLoggingIntoTheSameLog() throws SQLException {
        s.exec("create table public.resumed (id int primary key)",
               "select etl_rollback.track('public.resumed')");
        String log = s.text("select log_table from etl_rollback.tracked_tables where table_name = 'public.resumed'");
        s.exec("select etl_rollback.untrack('public.resumed')", "select etl_rollback.track('public.resumed')");
        s.tag("resumed");
        s.exec("insert into public.resumed values (1)");

        assertThat(s.text("select log_table from etl_rollback.tracked_tables where table_name = 'public.resumed'")).isEqualTo(log);
        assertThat(triggersOn("public.resumed")).isEqualTo(CAPTURE_TRIGGERS);
        assertThat(s.changes("resumed")).containsExactly(s.inserted("public.resumed", "{\"id\": 1}", "{\"id\": 1}"));
    }

    @Test
    void trackingAgainAfterAddColumnCapturesTheNewColumn() throws SQLException {
        s.exec("create table public.widened (id int primary key, a text)",
               "select etl_rollback.track('public.widened')");
        s.tag("widen");
        s.exec("insert into public.widened values (1, 'one')",
               "alter table public.widened add column b int default 7",
               "select etl_rollback.track('public.widened')",
               "insert into public.widened values (2, 'two', 2)",
               "update public.widened set b = b * 10",
               "delete from public.widened where id = 2");

        List<Session.Change> changes = s.changes("widen");
        assertThat(changes).hasSize(5);
        assertThat(s.text("select new_row - 'b' from etl_rollback.changes where migration_id = 'widen' order by seq limit 1"))
            .isEqualTo(s.jsonb("{\"id\": 1, \"a\": \"one\"}"));
        assertThat(changes.subList(1, 5)).containsExactly(
            s.inserted("public.widened", "{\"id\": 2}", "{\"id\": 2, \"a\": \"two\", \"b\": 2}"),
            s.updated("public.widened", "{\"id\": 1}", "{\"id\": 1, \"a\": \"one\", \"b\": 7}", "{\"id\": 1, \"a\": \"one\", \"b\": 70}"),
            s.updated("public.widened", "{\"id\": 2}", "{\"id\": 2, \"a\": \"two\", \"b\": 2}", "{\"id\": 2, \"a\": \"two\", \"b\": 20}"),
            s.deleted("public.widened", "{\"id\": 2}", "{\"id\": 2, \"a\": \"two\", \"b\": 20}"));
    }

    @Test
    void trackingAgainAfterAColumnChangesTypeCapturesItExactly() throws SQLException {
        s.exec("create table public.retyped (id int primary key, amount numeric(10, 2))",
               "insert into public.retyped values (1, 1.25)",
               "select etl_rollback.track('public.retyped')",
               "alter table public.retyped alter column amount type numeric(12, 4)",
               "select etl_rollback.track('public.retyped')");
        s.tag("retype");
        s.exec("update public.retyped set amount = 1.2345", "update public.retyped set amount = 9.8765");

        assertThat(s.changes("retype")).containsExactly(
            s.updated("public.retyped", "{\"id\": 1}", "{\"id\": 1, \"amount\": 1.2500}", "{\"id\": 1, \"amount\": 1.2345}"),
            s.updated("public.retyped", "{\"id\": 1}", "{\"id\": 1, \"amount\": 1.2345}", "{\"id\": 1, \"amount\": 9.8765}"));
    }

    @Test
    void trackingAgainAfterARenamedAndADroppedColumnCapturesTheTableAsItIsNow() throws SQLException {
        s.exec("create table public.reshaped (id int primary key, old_name text, gone text)",
               "select etl_rollback.track('public.reshaped')",
               "insert into public.reshaped values (1, 'x', 'y')",
               "alter table public.reshaped rename column old_name to new_name",
               "alter table public.reshaped drop column gone",
               "select etl_rollback.track('public.reshaped')");
        s.tag("reshape");
        s.exec("update public.reshaped set new_name = 'z'");

        assertThat(s.changes("reshape")).containsExactly(
            s.updated("public.reshaped", "{\"id\": 1}", "{\"id\": 1, \"new_name\": \"x\"}", "{\"id\": 1, \"new_name\": \"z\"}"));
    }

    @Test
    void rerunningTheCaptureScriptsKeepsTrackedTablesCapturedAndTheLogIntact() throws SQLException, IOException {
        s.exec("create table public.upgraded (id int primary key, v text)",
               "select etl_rollback.track('public.upgraded')");
        s.tag("before-upgrade");
        s.exec("insert into public.upgraded values (1, 'a')");
        List<Session.Change> before = s.changes("before-upgrade");

        s.exec("reset etl_rollback.migration_id",
               Files.readString(Path.of("db/migration/R__capture.sql")),
               Files.readString(Path.of("db/migration/R__views.sql")));
        s.tag("after-upgrade");
        s.exec("update public.upgraded set v = 'b'");

        assertThat(s.changes("before-upgrade")).isEqualTo(before).hasSize(1);
        assertThat(s.changes("after-upgrade")).containsExactly(
            s.updated("public.upgraded", "{\"id\": 1}", "{\"id\": 1, \"v\": \"a\"}", "{\"id\": 1, \"v\": \"b\"}"));
        assertThat(triggersOn("public.upgraded")).isEqualTo(CAPTURE_TRIGGERS);
    }
}
