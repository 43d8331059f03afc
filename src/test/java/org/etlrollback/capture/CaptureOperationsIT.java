package org.etlrollback.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.StringReader;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.util.ArrayList;
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
 * Every kind of write on a tracked table is logged as row changes with the right operation, key,
 * before-image and after-image, in the order the changes happened.
 */
class CaptureOperationsIT {

    private static TestDatabase db;

    private Session s;

    @BeforeAll
    static void createDatabase() {
        db = TestDatabase.forClass(CaptureOperationsIT.class);
    }

    @BeforeEach
    void connect() throws SQLException {
        s = new Session(db.connect());
    }

    @AfterEach
    void disconnect() throws SQLException {
        s.close();
    }

    @Test
    void multiRowAndSingleRowStatementsAreLoggedWithTheirImagesInOrder() throws SQLException {
        s.exec("create table public.item (id int primary key, name text, qty int)",
               "select etl_rollback.track('public.item')");
        s.tag("dml");
        s.exec("insert into public.item values (1, 'bolt', 10), (2, 'nut', 20), (3, 'gear', 30)",
               "insert into public.item values (4, 'cog', 40)",
               "update public.item set qty = qty + 1 where id in (1, 2)",
               "update public.item set name = 'big gear' where id = 3",
               "delete from public.item where id in (1, 4)",
               "delete from public.item where id = 2");

        assertThat(s.changes("dml")).containsExactly(
            s.inserted("public.item", "{\"id\": 1}", "{\"id\": 1, \"name\": \"bolt\", \"qty\": 10}"),
            s.inserted("public.item", "{\"id\": 2}", "{\"id\": 2, \"name\": \"nut\", \"qty\": 20}"),
            s.inserted("public.item", "{\"id\": 3}", "{\"id\": 3, \"name\": \"gear\", \"qty\": 30}"),
            s.inserted("public.item", "{\"id\": 4}", "{\"id\": 4, \"name\": \"cog\", \"qty\": 40}"),
            s.updated("public.item", "{\"id\": 1}", "{\"id\": 1, \"name\": \"bolt\", \"qty\": 10}",
                      "{\"id\": 1, \"name\": \"bolt\", \"qty\": 11}"),
            s.updated("public.item", "{\"id\": 2}", "{\"id\": 2, \"name\": \"nut\", \"qty\": 20}",
                      "{\"id\": 2, \"name\": \"nut\", \"qty\": 21}"),
            s.updated("public.item", "{\"id\": 3}", "{\"id\": 3, \"name\": \"gear\", \"qty\": 30}",
                      "{\"id\": 3, \"name\": \"big gear\", \"qty\": 30}"),
            s.deleted("public.item", "{\"id\": 1}", "{\"id\": 1, \"name\": \"bolt\", \"qty\": 11}"),
            s.deleted("public.item", "{\"id\": 4}", "{\"id\": 4, \"name\": \"cog\", \"qty\": 40}"),
            s.deleted("public.item", "{\"id\": 2}", "{\"id\": 2, \"name\": \"nut\", \"qty\": 21}"));
        // the one row left is exactly what the log says it became
        assertThat(s.text("select to_jsonb(i)::text from public.item i")).isEqualTo(
            s.text("select new_row::text from etl_rollback.changes where migration_id = 'dml'"
                   + " and pk = '{\"id\": 3}' and op = 'UPDATE'"));
        assertThat(s.query("select s.op, s.row_count::text from etl_rollback.statement s"
                           + " join etl_rollback.migration m using (mig) where m.migration_id = 'dml' order by s.stmt"))
            .containsExactly(List.of("I", "3"), List.of("I", "1"), List.of("U", "2"), List.of("U", "1"),
                             List.of("D", "2"), List.of("D", "1"));
        assertThat(s.query("select status, tables::text, row_changes::text from etl_rollback.migrations"
                           + " where migration_id = 'dml'"))
            .containsExactly(List.of("active", "{public.item}", "10"));
    }

    @Test
    void aLargeUpdateAfterManyOneRowUpdatesInTheSameSessionPairsItsRowsInLinearTime() throws SQLException {
        assumeTrue("true".equals(s.text("select rolsuper::text from pg_catalog.pg_roles where rolname = current_user")),
                   "auto_explain, which shows the capture's plan, can be loaded by a superuser only");
        s.exec("create table public.account (id int primary key, balance int)",
               "insert into public.account select g, 0 from generate_series(1, 2000) g",
               "select etl_rollback.track('public.account')");
        s.tag("one_by_one_then_all");
        // enough one-row statements for the session to keep one plan of the capture's copy for every later call
        for (int id = 1; id <= 10; id++) {
            assertThat(s.update("update public.account set balance = balance + 1 where id = ?", id)).isEqualTo(1);
        }
        s.exec("load 'auto_explain'", "set auto_explain.log_min_duration = 0",
               "set auto_explain.log_nested_statements = on", "set auto_explain.log_level = notice");
        List<String> plans = new ArrayList<>();
        try (Statement statement = s.connection().createStatement()) {
            statement.execute("update public.account set balance = balance + 1");
            for (SQLWarning w = statement.getWarnings(); w != null; w = w.getNextWarning()) {
                plans.add(w.getMessage());
            }
        }
        s.exec("set auto_explain.log_min_duration = -1");

        // the copy pairs the 2,000 old and new rows by hash or merge, not by a nested loop (2,000 x 2,000 steps)
        assertThat(plans).filteredOn(p -> p.contains("INSERT INTO etl_rollback.log_")).singleElement()
            .satisfies(p -> assertThat(p).containsAnyOf("Hash Join", "Merge Join").doesNotContain("Nested Loop"));
        assertThat(s.query("select count(*)::text, count(*) filter (where old_row->'id' = new_row->'id'"
                           + " and (new_row->>'balance')::int = (old_row->>'balance')::int + 1)::text"
                           + " from etl_rollback.changes where migration_id = 'one_by_one_then_all'"))
            .containsExactly(List.of("2010", "2010"));
    }

    @Test
    void statementOfMoreRowsThanOneSequenceBlockNumbersEveryRowOnceAndBeforeTheNextStatement() throws SQLException {
        s.exec("create table public.bulk (id int primary key)",
               "select etl_rollback.track('public.bulk')");
        s.tag("bulk");
        s.exec("insert into public.bulk select generate_series(1, 1048577)",
               "insert into public.bulk values (0)");

        // rows of the big statement: how many, how many distinct seq and keys, and whether all precede the last row
        assertThat(s.query("select count(*) filter (where big)::text, count(distinct seq) filter (where big)::text,"
                           + " count(distinct id) filter (where big)::text,"
                           + " (max(seq) filter (where big) < min(seq) filter (where not big))::text"
                           + " from (select seq, (new_row->>'id')::int as id, new_row->>'id' <> '0' as big"
                           + " from etl_rollback.changes where migration_id = 'bulk') c"))
            .containsExactly(List.of("1048577", "1048577", "1048577", "true"));
        assertThat(s.query("select s.row_count::text from etl_rollback.statement s join etl_rollback.migration m using (mig)"
                           + " where m.migration_id = 'bulk' order by s.stmt"))
            .containsExactly(List.of("1048577"), List.of("1"));
    }

    @Test
    void rowsLoadedWithCopyAreLoggedAsInserts() throws Exception {
        s.exec("create table public.loaded (id int primary key, label text, amount numeric)",
               "select etl_rollback.track('public.loaded')");
        s.tag("copy");
        long copied = new CopyManager(s.connection().unwrap(BaseConnection.class)).copyIn(
            "copy public.loaded from stdin (format csv)",
            new StringReader("1,plain,1.50\n2,\"with, comma\",\n3,\"\",-7\n"));

        assertThat(copied).isEqualTo(3);
        assertThat(s.changes("copy")).containsExactly(
            s.inserted("public.loaded", "{\"id\": 1}", "{\"id\": 1, \"label\": \"plain\", \"amount\": 1.50}"),
            s.inserted("public.loaded", "{\"id\": 2}", "{\"id\": 2, \"label\": \"with, comma\", \"amount\": null}"),
            s.inserted("public.loaded", "{\"id\": 3}", "{\"id\": 3, \"label\": \"\", \"amount\": -7}"));
        assertThat(s.number("select count(*) from etl_rollback.changes c join public.loaded l"
                            + " on c.new_row = to_jsonb(l) where c.migration_id = 'copy'")).isEqualTo(3);
    }

    @Test
    void truncateSavesEveryRowBeforeItGoes() throws SQLException {
        s.exec("create table public.doomed (id int primary key, note text)",
               "select etl_rollback.track('public.doomed')",
               "insert into public.doomed select g, 'note ' || g from generate_series(1, 5) g");
        List<String> images = s.column("select to_jsonb(d)::text from public.doomed d order by id");
        s.tag("truncate");
        s.exec("truncate public.doomed");

        assertThat(s.number("select count(*) from public.doomed")).isZero();
        List<Change> changes = s.changes("truncate");
        assertThat(changes).extracting(Change::op).containsOnly("TRUNCATE");
        assertThat(changes).extracting(Change::newRow).containsOnlyNulls();
        assertThat(changes).extracting(Change::oldRow).containsExactlyInAnyOrderElementsOf(images);
        assertThat(s.query("select s.op, s.row_count::text from etl_rollback.statement s"
                           + " join etl_rollback.migration m using (mig) where m.migration_id = 'truncate'"))
            .containsExactly(List.of("T", "5"));
    }

    @Test
    void truncateCascadeSavesTheRowsOfEveryTruncatedTrackedTable() throws SQLException {
        s.exec("create table public.head (id int primary key)",
               "create table public.tail (id int primary key, head_id int references public.head)",
               "select etl_rollback.track('public.head'), etl_rollback.track('public.tail')",
               "insert into public.head values (1), (2)",
               "insert into public.tail values (10, 1), (11, 2)");
        s.tag("truncate-cascade");
        s.exec("truncate public.head cascade");

        assertThat(s.changes("truncate-cascade")).containsExactlyInAnyOrder(
            s.truncated("public.head", "{\"id\": 1}", "{\"id\": 1}"),
            s.truncated("public.head", "{\"id\": 2}", "{\"id\": 2}"),
            s.truncated("public.tail", "{\"id\": 10}", "{\"id\": 10, \"head_id\": 1}"),
            s.truncated("public.tail", "{\"id\": 11}", "{\"id\": 11, \"head_id\": 2}"));
    }

    @Test
    void insertOnConflictLogsNewRowsAsInsertsAndConflictingRowsAsUpdates() throws SQLException {
        s.exec("create table public.stock (sku text primary key, qty int)",
               "select etl_rollback.track('public.stock')",
               "insert into public.stock values ('a', 1), ('b', 2)");
        s.tag("upsert");
        s.exec("insert into public.stock values ('b', 20), ('c', 30), ('a', 10)"
               + " on conflict (sku) do update set qty = excluded.qty",
               "insert into public.stock values ('c', 99), ('d', 4) on conflict do nothing");

        // PostgreSQL fires the statement's AFTER UPDATE trigger before its AFTER INSERT trigger
        List<Change> changes = s.changes("upsert");
        assertThat(changes.subList(0, 2)).containsExactlyInAnyOrder(
            s.updated("public.stock", "{\"sku\": \"a\"}", "{\"sku\": \"a\", \"qty\": 1}", "{\"sku\": \"a\", \"qty\": 10}"),
            s.updated("public.stock", "{\"sku\": \"b\"}", "{\"sku\": \"b\", \"qty\": 2}", "{\"sku\": \"b\", \"qty\": 20}"));
        assertThat(changes.subList(2, changes.size())).containsExactly(
            s.inserted("public.stock", "{\"sku\": \"c\"}", "{\"sku\": \"c\", \"qty\": 30}"),
            s.inserted("public.stock", "{\"sku\": \"d\"}", "{\"sku\": \"d\", \"qty\": 4}"));
    }

    @Test
    void updateOfThePrimaryKeyLogsTheOldKeyBeforeAndTheNewKeyAfter() throws SQLException {
        s.exec("create table public.renumbered (id int primary key, label text)",
               "select etl_rollback.track('public.renumbered')",
               "insert into public.renumbered select g, 'row ' || g from generate_series(1, 50) g");
        s.tag("renumber");
        s.exec("update public.renumbered set id = id + 1000");

        List<Change> changes = s.changes("renumber");
        assertThat(changes).hasSize(50);
        for (int id = 1; id <= 50; id++) {
            assertThat(changes).contains(s.updated("public.renumbered", "{\"id\": " + id + "}",
                "{\"id\": " + id + ", \"label\": \"row " + id + "\"}",
                "{\"id\": " + (id + 1000) + ", \"label\": \"row " + id + "\"}"));
        }
    }

    @Test
    void swappingKeysUnderADeferrableKeyPairsEachBeforeImageWithItsOwnAfterImage() throws SQLException {
        s.exec("create table public.seats (id int, guest text,"
               + " constraint seats_pk primary key (id) deferrable initially deferred)",
               "select etl_rollback.track('public.seats')",
               "insert into public.seats values (1, 'ann'), (2, 'bob'), (3, 'cyd')");
        s.tag("swap");
        s.exec("update public.seats set id = case id when 1 then 2 when 2 then 3 else 1 end");

        assertThat(s.changes("swap")).containsExactlyInAnyOrder(
            s.updated("public.seats", "{\"id\": 1}", "{\"id\": 1, \"guest\": \"ann\"}", "{\"id\": 2, \"guest\": \"ann\"}"),
            s.updated("public.seats", "{\"id\": 2}", "{\"id\": 2, \"guest\": \"bob\"}", "{\"id\": 3, \"guest\": \"bob\"}"),
            s.updated("public.seats", "{\"id\": 3}", "{\"id\": 3, \"guest\": \"cyd\"}", "{\"id\": 1, \"guest\": \"cyd\"}"));
    }

    @Test
    void swappingValuesOfADeferrableUniqueKeyPairsEachBeforeImageWithItsOwnAfterImage() throws SQLException {
        s.exec("create table public.lanes (lane int not null, runner text,"
               + " constraint lanes_lane unique (lane) deferrable initially immediate)",
               "select etl_rollback.track('public.lanes')",
               "insert into public.lanes values (1, 'ann'), (2, 'bob')");
        s.tag("lane-swap");
        s.exec("begin",
               "set constraints lanes_lane deferred",
               "update public.lanes set lane = 3 - lane",
               "commit");

        assertThat(s.column("select unnest(key_columns) from etl_rollback.tracked_tables where table_name = 'public.lanes'"))
            .containsExactly("lane");
        assertThat(s.changes("lane-swap")).containsExactlyInAnyOrder(
            s.updated("public.lanes", "{\"lane\": 1}", "{\"lane\": 1, \"runner\": \"ann\"}", "{\"lane\": 2, \"runner\": \"ann\"}"),
            s.updated("public.lanes", "{\"lane\": 2}", "{\"lane\": 2, \"runner\": \"bob\"}", "{\"lane\": 1, \"runner\": \"bob\"}"));
    }

    @Test
    void deleteCascadingToAChildTableIsLoggedOnTheChild() throws SQLException {
        s.exec("create table public.orders (id int primary key)",
               "create table public.order_lines (id int primary key,"
               + " order_id int not null references public.orders on delete cascade, sku text)",
               "select etl_rollback.track('public.orders'), etl_rollback.track('public.order_lines')",
               "insert into public.orders values (1), (2)",
               "insert into public.order_lines values (10, 1, 'a'), (11, 1, 'b'), (20, 2, 'c')");
        s.tag("cascade");
        s.exec("delete from public.orders where id = 1");

        List<Change> changes = s.changes("cascade");
        assertThat(changes).filteredOn(c -> c.table().equals("public.orders")).containsExactly(
            s.deleted("public.orders", "{\"id\": 1}", "{\"id\": 1}"));
        assertThat(changes).filteredOn(c -> c.table().equals("public.order_lines")).containsExactlyInAnyOrder(
            s.deleted("public.order_lines", "{\"id\": 10}", "{\"id\": 10, \"order_id\": 1, \"sku\": \"a\"}"),
            s.deleted("public.order_lines", "{\"id\": 11}", "{\"id\": 11, \"order_id\": 1, \"sku\": \"b\"}"));
        assertThat(changes).hasSize(3);
    }

    @Test
    void updateCascadingToAChildTableIsLoggedOnTheChild() throws SQLException {
        s.exec("create table public.accounts (code text primary key)",
               "create table public.postings (id int primary key,"
               + " account text references public.accounts on update cascade)",
               "select etl_rollback.track('public.accounts'), etl_rollback.track('public.postings')",
               "insert into public.accounts values ('old')",
               "insert into public.postings values (1, 'old'), (2, 'old')");
        s.tag("rename-account");
        s.exec("update public.accounts set code = 'new'");

        List<Change> changes = s.changes("rename-account");
        assertThat(changes).filteredOn(c -> c.table().equals("public.accounts")).containsExactly(
            s.updated("public.accounts", "{\"code\": \"old\"}", "{\"code\": \"old\"}", "{\"code\": \"new\"}"));
        assertThat(changes).filteredOn(c -> c.table().equals("public.postings")).containsExactlyInAnyOrder(
            s.updated("public.postings", "{\"id\": 1}", "{\"id\": 1, \"account\": \"old\"}", "{\"id\": 1, \"account\": \"new\"}"),
            s.updated("public.postings", "{\"id\": 2}", "{\"id\": 2, \"account\": \"old\"}", "{\"id\": 2, \"account\": \"new\"}"));
        assertThat(changes).hasSize(3);
    }

    @Test
    void successiveChangesToOneRowKeepTheirOrder() throws SQLException {
        s.exec("create table public.counter (id int primary key, n int)",
               "select etl_rollback.track('public.counter')");
        s.tag("steps");
        s.exec("insert into public.counter values (1, 0)",
               "begin",
               "update public.counter set n = n + 1",
               "update public.counter set n = n * 10",
               "update public.counter set id = 2",
               "commit",
               "delete from public.counter",
               "insert into public.counter values (2, 5)");

        assertThat(s.changes("steps")).containsExactly(
            s.inserted("public.counter", "{\"id\": 1}", "{\"id\": 1, \"n\": 0}"),
            s.updated("public.counter", "{\"id\": 1}", "{\"id\": 1, \"n\": 0}", "{\"id\": 1, \"n\": 1}"),
            s.updated("public.counter", "{\"id\": 1}", "{\"id\": 1, \"n\": 1}", "{\"id\": 1, \"n\": 10}"),
            s.updated("public.counter", "{\"id\": 1}", "{\"id\": 1, \"n\": 10}", "{\"id\": 2, \"n\": 10}"),
            s.deleted("public.counter", "{\"id\": 2}", "{\"id\": 2, \"n\": 10}"),
            s.inserted("public.counter", "{\"id\": 2}", "{\"id\": 2, \"n\": 5}"));
    }

    @Test
    void deleteAndReinsertOfOneKeyInOneStatementAreLoggedInThatOrder() throws SQLException {
        s.exec("create table public.slot (id int primary key, holder text)",
               "select etl_rollback.track('public.slot')",
               "insert into public.slot values (1, 'old'), (2, 'other')");
        s.tag("replace");
        s.exec("with gone as (delete from public.slot where id = 1 returning id)"
               + " insert into public.slot select id, 'new' from gone");

        assertThat(s.changes("replace")).containsExactly(
            s.deleted("public.slot", "{\"id\": 1}", "{\"id\": 1, \"holder\": \"old\"}"),
            s.inserted("public.slot", "{\"id\": 1}", "{\"id\": 1, \"holder\": \"new\"}"));
    }

    @Test
    void writesThroughAnUpdatableViewAreLoggedOnTheTable() throws SQLException {
        s.exec("create table public.person (id int primary key, name text, active boolean)",
               "create view public.active_person as select id, name from public.person where active",
               "select etl_rollback.track('public.person')",
               "insert into public.person values (1, 'Ann', true), (2, 'Ben', false)");
        s.tag("view");
        s.exec("update public.active_person set name = 'Anna'",
               "delete from public.active_person");

        assertThat(s.changes("view")).containsExactly(
            s.updated("public.person", "{\"id\": 1}", "{\"id\": 1, \"name\": \"Ann\", \"active\": true}",
                      "{\"id\": 1, \"name\": \"Anna\", \"active\": true}"),
            s.deleted("public.person", "{\"id\": 1}", "{\"id\": 1, \"name\": \"Anna\", \"active\": true}"));
    }

    @Test
    void changesOfOneTransactionCarryItsTransactionId() throws SQLException {
        s.exec("create table public.ledger (id int primary key, amount int)",
               "select etl_rollback.track('public.ledger')",
               "insert into public.ledger values (1, 100)");
        s.tag("txid");
        s.exec("begin",
               "update public.ledger set amount = 50",
               "insert into public.ledger values (2, 50)");
        String txid = s.text("select txid_current()::text");
        s.exec("commit",
               "delete from public.ledger where id = 2");

        assertThat(s.query("select op, txid::text = ? from etl_rollback.changes where migration_id = 'txid' order by seq", txid))
            .containsExactly(List.of("UPDATE", "t"), List.of("INSERT", "t"), List.of("DELETE", "f"));
    }

    @Test
    void generatedAndIdentityColumnsAreCaptured() throws SQLException {
        s.exec("create table public.invoice (id bigint generated always as identity primary key,"
               + " number int generated by default as identity (start with 100), net numeric,"
               + " gross numeric generated always as (net * 1.2) stored)",
               "select etl_rollback.track('public.invoice')");
        s.tag("generated");
        s.exec("insert into public.invoice (net) values (10), (20)",
               "update public.invoice set net = 15 where id = 1",
               "delete from public.invoice where id = 2");

        assertThat(s.changes("generated")).containsExactly(
            s.inserted("public.invoice", "{\"id\": 1}", "{\"id\": 1, \"number\": 100, \"net\": 10, \"gross\": 12.0}"),
            s.inserted("public.invoice", "{\"id\": 2}", "{\"id\": 2, \"number\": 101, \"net\": 20, \"gross\": 24.0}"),
            s.updated("public.invoice", "{\"id\": 1}", "{\"id\": 1, \"number\": 100, \"net\": 10, \"gross\": 12.0}",
                      "{\"id\": 1, \"number\": 100, \"net\": 15, \"gross\": 18.0}"),
            s.deleted("public.invoice", "{\"id\": 2}", "{\"id\": 2, \"number\": 101, \"net\": 20, \"gross\": 24.0}"));
        assertThat(s.query("select column_name, generated::text, identity_always::text from etl_rollback.tracked_column c"
                           + " join etl_rollback.tracked_table t using (table_id) where t.table_name = 'public.invoice'"
                           + " order by position"))
            .containsExactly(List.of("id", "false", "true"), List.of("number", "false", "false"),
                             List.of("net", "false", "false"), List.of("gross", "true", "false"));
    }

    @Test
    void tableWithMoreColumnsThanOneJsonbBuildObjectTakesIsCapturedWhole() throws SQLException {
        s.exec("""
               do $$ begin
                   execute (select format('create table public.wide (id int primary key, %s)',
                                          string_agg(format('c%s int default %s', g, g), ', ' order by g))
                              from generate_series(1, 130) g);
               end $$""",
               "select etl_rollback.track('public.wide')");
        s.tag("wide");
        s.exec("insert into public.wide (id) values (1)");
        String inserted = s.text("select to_jsonb(w)::text from public.wide w");
        s.exec("update public.wide set c130 = -130, c1 = -1");
        String updated = s.text("select to_jsonb(w)::text from public.wide w");
        s.exec("delete from public.wide");

        assertThat(s.changes("wide")).containsExactly(
            s.inserted("public.wide", "{\"id\": 1}", inserted),
            s.updated("public.wide", "{\"id\": 1}", inserted, updated),
            s.deleted("public.wide", "{\"id\": 1}", updated));
        assertThat(s.number("select count(*) from jsonb_object_keys(?::jsonb)", updated)).isEqualTo(131);
    }

    @Test
    void columnsNamedLikeTheCaptureInternalsAreCaptured() throws SQLException {
        s.exec("create table public.awkward (v_stmt int primary key, v_rows int, seq int, stmt int, o1 int, n1 int)",
               "select etl_rollback.track('public.awkward')");
        s.tag("awkward");
        s.exec("insert into public.awkward values (1, 2, 3, 4, 5, 6)",
               "update public.awkward set v_rows = 20, v_stmt = 10",
               "delete from public.awkward");

        assertThat(s.changes("awkward")).containsExactly(
            s.inserted("public.awkward", "{\"v_stmt\": 1}",
                       "{\"v_stmt\": 1, \"v_rows\": 2, \"seq\": 3, \"stmt\": 4, \"o1\": 5, \"n1\": 6}"),
            s.updated("public.awkward", "{\"v_stmt\": 1}",
                      "{\"v_stmt\": 1, \"v_rows\": 2, \"seq\": 3, \"stmt\": 4, \"o1\": 5, \"n1\": 6}",
                      "{\"v_stmt\": 10, \"v_rows\": 20, \"seq\": 3, \"stmt\": 4, \"o1\": 5, \"n1\": 6}"),
            s.deleted("public.awkward", "{\"v_stmt\": 10}",
                      "{\"v_stmt\": 10, \"v_rows\": 20, \"seq\": 3, \"stmt\": 4, \"o1\": 5, \"n1\": 6}"));
    }

    @Test
    void namesThatNeedQuotingAreCaptured() throws SQLException {
        s.exec("create schema \"Sales Data\"",
               "create table \"Sales Data\".\"Order Lines\" (\"Line Id\" int primary key, \"Note\" text, \"x\"\"y\" int)",
               "select etl_rollback.track('\"Sales Data\".\"Order Lines\"')");
        s.tag("quoted");
        s.exec("insert into \"Sales Data\".\"Order Lines\" values (1, 'n', 2)",
               "update \"Sales Data\".\"Order Lines\" set \"Note\" = 'm'",
               "truncate \"Sales Data\".\"Order Lines\"");

        String table = "\"Sales Data\".\"Order Lines\"";
        assertThat(s.changes("quoted")).containsExactly(
            s.inserted(table, "{\"Line Id\": 1}", "{\"Line Id\": 1, \"Note\": \"n\", \"x\\\"y\": 2}"),
            s.updated(table, "{\"Line Id\": 1}", "{\"Line Id\": 1, \"Note\": \"n\", \"x\\\"y\": 2}",
                      "{\"Line Id\": 1, \"Note\": \"m\", \"x\\\"y\": 2}"),
            s.truncated(table, "{\"Line Id\": 1}", "{\"Line Id\": 1, \"Note\": \"m\", \"x\\\"y\": 2}"));
    }

    @Test
    void mergeIsLoggedAsTheInsertsUpdatesAndDeletesItMade() throws SQLException {
        assumeTrue(s.number("select current_setting('server_version_num')::int") >= 150000, "MERGE needs PostgreSQL 15");
        s.exec("create table public.prices (sku text primary key, price int)",
               "select etl_rollback.track('public.prices')",
               "insert into public.prices values ('a', 1), ('b', 2), ('c', 3)");
        s.tag("merge");
        s.exec("merge into public.prices p using (values ('a', 10), ('b', null), ('d', 4)) as n(sku, price)"
               + " on p.sku = n.sku"
               + " when matched and n.price is null then delete"
               + " when matched then update set price = n.price"
               + " when not matched then insert values (n.sku, n.price)");

        assertThat(s.changes("merge")).containsExactlyInAnyOrder(
            s.updated("public.prices", "{\"sku\": \"a\"}", "{\"sku\": \"a\", \"price\": 1}", "{\"sku\": \"a\", \"price\": 10}"),
            s.deleted("public.prices", "{\"sku\": \"b\"}", "{\"sku\": \"b\", \"price\": 2}"),
            s.inserted("public.prices", "{\"sku\": \"d\"}", "{\"sku\": \"d\", \"price\": 4}"));
    }
}
