package org.etlrollback.capture;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.StringReader;
import java.sql.SQLException;
import java.util.List;
import org.etlrollback.TestDatabase;
import org.etlrollback.capture.Session.Change;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postgresql.copy.CopyManager;
import org.postgresql.core.BaseConnection;

/**
 * A tracked partitioned table logs every change once, into the partitioned table's log, whether it
 * is made through the partitioned table or straight on a partition, at any level.
 */
class PartitionedTableIT {

    private static TestDatabase db;

    private Session s;

    @BeforeAll
    static void createDatabase() {
        db = TestDatabase.forClass(PartitionedTableIT.class);
    }

    @BeforeEach
    void connectAndCreateMeasure() throws SQLException {
        s = new Session(db.connect());
        createMeasure();
    }

    @AfterEach
    void disconnect() throws SQLException {
        s.close();
    }

    /** measure(region, id, value): eu and us are plain partitions, asia is itself partitioned by id. */
    private void createMeasure() throws SQLException {
        s.exec("drop table if exists public.measure",
               "create table public.measure (region text, id int, value int, primary key (region, id))"
               + " partition by list (region)",
               "create table public.measure_eu partition of public.measure for values in ('eu')",
               "create table public.measure_us partition of public.measure for values in ('us')",
               "create table public.measure_asia partition of public.measure for values in ('asia') partition by range (id)",
               "create table public.measure_asia_low partition of public.measure_asia for values from (0) to (100)",
               "create table public.measure_asia_high partition of public.measure_asia for values from (100) to (maxvalue)",
               "select etl_rollback.track('public.measure')");
    }

    private static String key(String region, int id) {
        return "{\"region\": \"" + region + "\", \"id\": " + id + "}";
    }

    private static String row(String region, int id, int value) {
        return "{\"region\": \"" + region + "\", \"id\": " + id + ", \"value\": " + value + "}";
    }

    @Test
    void insertsThroughTheParentAndStraightIntoPartitionsAreEachLoggedOnce() throws SQLException {
        s.tag("partition-inserts");
        s.exec("insert into public.measure values ('eu', 1, 10), ('us', 2, 20), ('asia', 3, 30), ('asia', 300, 40)",
               "insert into public.measure_eu values ('eu', 5, 50)",
               "insert into public.measure_asia values ('asia', 6, 60)",
               "insert into public.measure_asia_high values ('asia', 700, 70)");

        String t = "public.measure";
        List<Change> changes = s.changes("partition-inserts");
        assertThat(changes.subList(0, 4)).containsExactlyInAnyOrder(
            s.inserted(t, key("eu", 1), row("eu", 1, 10)),
            s.inserted(t, key("us", 2), row("us", 2, 20)),
            s.inserted(t, key("asia", 3), row("asia", 3, 30)),
            s.inserted(t, key("asia", 300), row("asia", 300, 40)));
        assertThat(changes.subList(4, changes.size())).containsExactly(
            s.inserted(t, key("eu", 5), row("eu", 5, 50)),
            s.inserted(t, key("asia", 6), row("asia", 6, 60)),
            s.inserted(t, key("asia", 700), row("asia", 700, 70)));
        assertThat(s.query("select tables::text, row_changes::text from etl_rollback.migrations"
                           + " where migration_id = 'partition-inserts'"))
            .containsExactly(List.of("{public.measure}", "7"));
    }

    @Test
    void updatesAndDeletesThroughTheParentAndOnAPartitionAreEachLoggedOnce() throws SQLException {
        s.exec("insert into public.measure values ('eu', 1, 10), ('us', 2, 20), ('asia', 3, 30)");
        s.tag("partition-updates");
        s.exec("update public.measure set value = value + 1",
               "update public.measure_asia_low set value = 0",
               "delete from public.measure_eu",
               "delete from public.measure where region = 'us'");

        String t = "public.measure";
        List<Change> changes = s.changes("partition-updates");
        assertThat(changes.subList(0, 3)).containsExactlyInAnyOrder(
            s.updated(t, key("eu", 1), row("eu", 1, 10), row("eu", 1, 11)),
            s.updated(t, key("us", 2), row("us", 2, 20), row("us", 2, 21)),
            s.updated(t, key("asia", 3), row("asia", 3, 30), row("asia", 3, 31)));
        assertThat(changes.subList(3, changes.size())).containsExactly(
            s.updated(t, key("asia", 3), row("asia", 3, 31), row("asia", 3, 0)),
            s.deleted(t, key("eu", 1), row("eu", 1, 11)),
            s.deleted(t, key("us", 2), row("us", 2, 21)));
    }

    @Test
    void updateMovingRowsAcrossPartitionsIsLoggedAsOneUpdatePerRow() throws SQLException {
        s.exec("insert into public.measure values ('eu', 1, 10), ('eu', 2, 20), ('us', 3, 30), ('asia', 4, 40)");
        s.tag("partition-move");
        s.exec("update public.measure set region = 'us' where id = 1",
               "update public.measure set region = case region when 'eu' then 'asia' else 'eu' end, id = id + 100"
               + " where id in (2, 3)",
               "update public.measure_asia set id = 400 where id = 4");

        String t = "public.measure";
        List<Change> changes = s.changes("partition-move");
        assertThat(changes).hasSize(4);
        assertThat(changes.get(0)).isEqualTo(s.updated(t, key("eu", 1), row("eu", 1, 10), row("us", 1, 10)));
        assertThat(changes.subList(1, 3)).containsExactlyInAnyOrder(
            s.updated(t, key("eu", 2), row("eu", 2, 20), row("asia", 102, 20)),
            s.updated(t, key("us", 3), row("us", 3, 30), row("eu", 103, 30)));
        assertThat(changes.get(3)).isEqualTo(s.updated(t, key("asia", 4), row("asia", 4, 40), row("asia", 400, 40)));
        assertThat(s.number("select count(*) from public.measure_asia_high where id in (102, 400)")).isEqualTo(2);
    }

    @Test
    void updateMovingSomeRowsAndKeepingOthersPairsEveryRowWithItsOwnAfterImage() throws SQLException {
        s.exec("insert into public.measure select (array['eu', 'us', 'asia'])[g % 3 + 1], g, g from generate_series(1, 30) g");
        s.tag("partition-mixed");
        s.exec("update public.measure set region = case when id % 2 = 0 then 'us' else region end, value = -value");

        List<Change> changes = s.changes("partition-mixed");
        assertThat(changes).hasSize(30);
        for (int id = 1; id <= 30; id++) {
            String region = List.of("eu", "us", "asia").get(id % 3);
            String moved = id % 2 == 0 ? "us" : region;
            assertThat(changes).contains(s.updated("public.measure", key(region, id), row(region, id, id), row(moved, id, -id)));
        }
    }

    @Test
    void partitionWithItsOwnColumnOrderAndADroppedColumnIsCapturedByColumnName() throws SQLException {
        s.exec("create table public.measure_africa (junk int, value int, id int not null, region text not null)",
               "alter table public.measure_africa drop column junk",
               "alter table public.measure attach partition public.measure_africa for values in ('africa')",
               "select etl_rollback.track('public.measure')");
        s.tag("partition-layout");
        s.exec("insert into public.measure values ('africa', 1, 10)",
               "insert into public.measure_africa (value, id, region) values (20, 2, 'africa')",
               "update public.measure_africa set value = value + 1 where id = 1",
               "update public.measure set region = 'eu' where id = 2",
               "truncate public.measure_africa");

        String t = "public.measure";
        assertThat(s.changes("partition-layout")).containsExactly(
            s.inserted(t, key("africa", 1), row("africa", 1, 10)),
            s.inserted(t, key("africa", 2), row("africa", 2, 20)),
            s.updated(t, key("africa", 1), row("africa", 1, 10), row("africa", 1, 11)),
            s.updated(t, key("africa", 2), row("africa", 2, 20), row("eu", 2, 20)),
            s.truncated(t, key("africa", 1), row("africa", 1, 11)));
    }

    @Test
    void truncateOfTheParentSavesEveryRowOfEveryPartitionOnce() throws SQLException {
        s.exec("insert into public.measure values ('eu', 1, 10), ('eu', 2, 20), ('us', 3, 30),"
               + " ('asia', 4, 40), ('asia', 500, 50)");
        List<String> images = s.column("select to_jsonb(m)::text from public.measure m");
        s.tag("partition-truncate");
        s.exec("truncate public.measure");

        List<Change> changes = s.changes("partition-truncate");
        assertThat(changes).extracting(Change::op).containsOnly("TRUNCATE");
        assertThat(changes).extracting(Change::table).containsOnly("public.measure");
        assertThat(changes).extracting(Change::oldRow).containsExactlyInAnyOrderElementsOf(images).hasSize(5);
        assertThat(s.number("select count(*) from public.measure")).isZero();
    }

    @Test
    void truncateOfOnePartitionSavesItsRowsOnly() throws SQLException {
        s.exec("insert into public.measure values ('eu', 1, 10), ('us', 2, 20), ('asia', 3, 30), ('asia', 400, 40)");
        s.tag("partition-truncate-one");
        s.exec("truncate public.measure_asia");

        String t = "public.measure";
        assertThat(s.changes("partition-truncate-one")).containsExactlyInAnyOrder(
            s.truncated(t, key("asia", 3), row("asia", 3, 30)),
            s.truncated(t, key("asia", 400), row("asia", 400, 40)));
    }

    @Test
    void copyIntoThePartitionedTableIsLoggedOnce() throws Exception {
        s.tag("partition-copy");
        long copied = new CopyManager(s.connection().unwrap(BaseConnection.class)).copyIn(
            "copy public.measure from stdin", new StringReader("eu\t1\t10\nasia\t200\t20\n"));

        assertThat(copied).isEqualTo(2);
        String t = "public.measure";
        assertThat(s.changes("partition-copy")).containsExactlyInAnyOrder(
            s.inserted(t, key("eu", 1), row("eu", 1, 10)),
            s.inserted(t, key("asia", 200), row("asia", 200, 20)));
    }

    @Test
    void partitionCreatedAfterTrackingIsCapturedOnceTrackedAgain() throws SQLException {
        s.exec("create table public.measure_africa partition of public.measure for values in ('africa')",
               "select etl_rollback.track('public.measure')");
        s.tag("late-partition");
        s.exec("insert into public.measure_africa values ('africa', 1, 10)",
               "insert into public.measure values ('africa', 2, 20)",
               "update public.measure_africa set value = value + 1",
               "truncate public.measure");

        String t = "public.measure";
        List<Change> changes = s.changes("late-partition");
        assertThat(changes.subList(0, 4)).containsExactly(
            s.inserted(t, key("africa", 1), row("africa", 1, 10)),
            s.inserted(t, key("africa", 2), row("africa", 2, 20)),
            s.updated(t, key("africa", 1), row("africa", 1, 10), row("africa", 1, 11)),
            s.updated(t, key("africa", 2), row("africa", 2, 20), row("africa", 2, 21)));
        assertThat(changes.subList(4, changes.size())).containsExactlyInAnyOrder(
            s.truncated(t, key("africa", 1), row("africa", 1, 11)),
            s.truncated(t, key("africa", 2), row("africa", 2, 21)));
    }
}
