package org.etlrollback.transform;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollbackException;
import org.etlrollback.Reverser;
import org.etlrollback.RollbackOptions;
import org.etlrollback.RollbackResult;
import org.etlrollback.TableState;
import org.etlrollback.TestDatabase;
import org.etlrollback.transform.RollbackConfig.ArchiveCompression;
import org.jooq.DSLContext;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MigrationArchiveIT {
    private static final TestDatabase DB = TestDatabase.forClass(MigrationArchiveIT.class);
    private static final String[] TABLES = {"shop.things", "shop.notes"};

    private final MigrationArchive archive = MigrationArchive.using(DB.dataSource());

    @BeforeEach
    void schema() throws SQLException {
        DB.execute("""
                delete from etl_rollback.checkpoint;
                delete from etl_rollback.statement;
                delete from etl_rollback.migration;
                drop schema if exists shop cascade;
                create schema shop;
                create type shop.mood as enum ('sad', 'ok', 'happy');
                create table shop.things(id int primary key, n numeric, n4 numeric(12,4), f8 double precision,
                    f4 real, ts timestamptz, tsl timestamp, d date, iv interval, b bytea, t text, j jsonb, js json,
                    arr int[], tarr text[], u uuid, flag boolean, mood shop.mood, r int4range, bits bit varying(10),
                    x xml);
                create table shop.notes(id int primary key, thing_id int references shop.things(id), body text);
                insert into shop.things values
                  (1, 1.500, 12.3400, 0.1, 0.1, '2026-03-29 01:59:59.999999+01', '1999-12-31 23:59:59.123456',
                   '0044-03-15 BC', '1 year 2 mons 3 days 04:05:06.789', '\\x00ff10',
                   E'quote '' backslash \\\\ newline \\n tab \\t snowman \u2603', '{"a": [1, 2.50, null]}',
                   '{ "keep" :  "spacing" }', '{1,NULL,3}', '{"a b",NULL,"c,d","\\"q\\""}',
                   'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', true, 'ok', '[1,10)', B'10101', '<a b="1">t</a>'),
                  (2, 'NaN', -0.0001, 5e-324, 3.4028235e38, 'infinity', '-infinity', 'infinity', '-1 day +02:00',
                   '\\x', '', '[]', 'null', '{}', '{}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', false, 'sad',
                   'empty', B'', '<x/>');
                insert into shop.notes values (1, 1, 'one'), (2, 2, 'two');
                select etl_rollback.track('shop.things');
                select etl_rollback.track('shop.notes');
                """);
    }

    @Test
    void exportedThenCleanedUpMigrationIsRolledBackExactlyAfterImport(@TempDir Path dir) throws Exception {
        Map<String, String> before = TableState.of(DB.dsl(), TABLES);
        migrate("things_1");
        Map<String, String> logBefore = log("things_1");

        ArchivedMigration exported = archive.exportTo("things_1", dir, ArchiveCompression.GZIP);

        assertThat(exported.file()).isEqualTo(dir.resolve("things_1.jsonl.gz"));
        assertThat(exported.tables()).containsExactly("shop.things", "shop.notes");
        assertThat(exported.statements()).isEqualTo(7);
        assertThat(exported.checkpoints()).isEqualTo(1);
        assertThat(exported.rows()).isEqualTo(7);
        assertThat(gunzippedFirstLine(exported.file())).contains("\"archive\":\"etl-rollback migration log\"");
        assertThat(dir).isDirectoryNotContaining("glob:**.part");

        forget("things_1");
        assertThatThrownBy(() -> Reverser.using(DB.dataSource()).rollback("things_1"))
                .hasMessageContaining("unknown migration id things_1");

        ArchivedMigration imported = archive.importFrom(exported.file());

        assertThat(imported.rows()).isEqualTo(7);
        assertThat(log("things_1")).isEqualTo(logBefore);
        RollbackResult result = Reverser.using(DB.dataSource()).rollback("things_1",
                RollbackOptions.defaults().withVerify(true));
        assertThat(result.outcome()).isEqualTo(RollbackResult.Outcome.ROLLED_BACK);
        assertThat(TableState.of(DB.dsl(), TABLES)).isEqualTo(before);
    }

    @Test
    void checkpointsAndStatusSurviveTheRoundTrip(@TempDir Path dir) throws Exception {
        Map<String, String> before = TableState.of(DB.dsl(), TABLES);
        migrate("things_2");
        Map<String, String> afterMigration = TableState.of(DB.dsl(), TABLES);
        Reverser.using(DB.dataSource()).rollback("things_2",
                RollbackOptions.defaults().withToCheckpoint("things_updated"));
        Map<String, String> afterPartialRollback = TableState.of(DB.dsl(), TABLES);
        assertThat(afterPartialRollback).isNotEqualTo(afterMigration).isNotEqualTo(before);
        Map<String, String> logBefore = log("things_2");

        Path file = dir.resolve("plain.jsonl");
        archive.export("things_2", file);
        assertThat(Files.readString(file)).startsWith("{\"archive\"");
        forget("things_2");
        archive.importFrom(file);

        assertThat(log("things_2")).isEqualTo(logBefore);
        RollbackResult rest = Reverser.using(DB.dataSource()).rollback("things_2");
        assertThat(rest.outcome()).isEqualTo(RollbackResult.Outcome.ROLLED_BACK);
        assertThat(TableState.of(DB.dsl(), TABLES)).isEqualTo(before);
    }

    @Test
    void aRollbackKeepsTheWindowItUndidThroughTheRoundTrip(@TempDir Path dir) throws Exception {
        Map<String, String> before = TableState.of(DB.dsl(), TABLES);
        migrate("things_4");
        Map<String, String> afterMigration = TableState.of(DB.dsl(), TABLES);
        Reverser reverser = Reverser.using(DB.dataSource());
        String rollbackId = reverser.rollback("things_4").rollbackId();
        Map<String, String> logBefore = log(rollbackId);

        Path file = dir.resolve("rollback.jsonl");
        archive.export(rollbackId, file);
        forget(rollbackId);
        archive.importFrom(file);

        assertThat(log(rollbackId)).isEqualTo(logBefore);
        // undone, it puts the migration's changes back in force; put back in force, it undoes them again
        reverser.rollback(rollbackId);
        assertThat(TableState.of(DB.dsl(), TABLES)).isEqualTo(afterMigration);
        assertThat(status("things_4")).isEqualTo("active");
        reverser.rollback("rollback:" + rollbackId);
        assertThat(TableState.of(DB.dsl(), TABLES)).isEqualTo(before);
        assertThat(status("things_4")).isEqualTo("rolled_back");
    }

    @Test
    void importIsRefusedWhileTheLogHasTheMigration(@TempDir Path dir) throws Exception {
        migrate("things_3");
        ArchivedMigration exported = archive.exportTo("things_3", dir, ArchiveCompression.GZIP);
        Map<String, String> logBefore = log("things_3");

        assertThatThrownBy(() -> archive.importFrom(exported.file()))
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.FAILED))
                .hasMessageContaining("migration things_3 is in the log already")
                .hasMessageContaining("Nothing was imported");
        assertThat(log("things_3")).isEqualTo(logBefore);
    }

    @Test
    void fileThatIsNotAnArchiveIsRefused(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("notes.txt"), "hello\n");
        assertThatThrownBy(() -> archive.importFrom(file))
                .hasMessageContaining("not an etl-rollback archive").hasMessageContaining("Nothing was imported");
        assertThatThrownBy(() -> archive.importFrom(dir.resolve("missing.jsonl.gz")))
                .hasMessageContaining("cannot read it");
    }

    @Test
    void unknownMigrationIsNotExported(@TempDir Path dir) {
        assertThatThrownBy(() -> archive.exportTo("nope", dir, ArchiveCompression.GZIP))
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.FAILED))
                .hasMessageContaining("no migration has that id").hasMessageContaining("No file was written");
        assertThat(dir).isEmptyDirectory();
    }

    /** A migration over every kind of value, with a checkpoint in the middle. */
    private static void migrate(String migrationId) throws SQLException {
        try (Connection c = DB.connect(); Statement s = c.createStatement()) {
            s.execute("set etl_rollback.migration_id = '" + migrationId + "'");
            s.execute("""
                    insert into shop.things (id, t, f8) values (3, null, -0.0);
                    update shop.things set n = n * 3, f8 = f8 * 3, f4 = f4 / 3, ts = ts + interval '1 microsecond',
                        iv = iv * 2, b = b || '\\x01', t = t || '!', j = j || '{"c": 1}', arr = arr || 4,
                        mood = 'happy', r = '[2,3]', bits = bits || B'1', x = '<changed/>' where id = 1;
                    select etl_rollback.checkpoint('things_updated');
                    update shop.things set n = 2, tarr = '{x}' where id = 2;
                    insert into shop.notes values (3, 3, 'three');
                    delete from shop.notes where id = 2;
                    update shop.things set f8 = 'NaN' where id = 3;
                    delete from shop.notes where id = 1;
                    """);
        }
    }

    /** Everything the log holds of a migration, as exact text, per catalog table and log table. */
    private static Map<String, String> log(String migrationId) {
        return DB.dsl().transactionResult(c -> {
            DSLContext tx = c.dsl();
            tx.execute("set local extra_float_digits = 3");
            String ofMigration = "(select mig from etl_rollback.migration where migration_id = '" + migrationId + "')";
            String statements = "(select stmt from etl_rollback.statement where mig = " + ofMigration + ")";
            Map<String, String> log = new java.util.LinkedHashMap<>();
            log.put("migration", text(tx, "select m.* from etl_rollback.migration m where mig = " + ofMigration));
            log.put("statements", text(tx, "select s.* from etl_rollback.statement s where mig = " + ofMigration));
            log.put("checkpoints", text(tx, "select c.* from etl_rollback.checkpoint c where mig = " + ofMigration));
            for (String logTable : tx.fetchValues("select log_table from etl_rollback.tracked_tables order by 1")
                    .stream().map(Object::toString).toList()) {
                log.put(logTable, text(tx, "select l.* from " + logTable + " l where stmt in " + statements));
            }
            return log;
        });
    }

    private static String status(String migrationId) {
        return DB.dsl().fetchValue("select status from etl_rollback.migration where migration_id = {0}", migrationId)
                .toString();
    }

    private static String text(DSLContext tx, String query) {
        return tx.fetchValue("select coalesce(string_agg(q::text, E'\\n' order by q::text), '') from (" + query
                + ") q").toString();
    }

    /** Deletes the log of the migration and of its rollbacks, as a cleanup does. */
    private static void forget(String migrationId) throws SQLException {
        List<String> logTables = DB.dsl().fetchValues("select log_table from etl_rollback.tracked_tables").stream()
                .map(Object::toString).toList();
        StringBuilder sql = new StringBuilder("create temporary table forgotten as select mig"
                + " from etl_rollback.migration where migration_id = '" + migrationId + "' or rollback_of ="
                + " (select mig from etl_rollback.migration where migration_id = '" + migrationId + "');\n");
        for (String logTable : logTables) {
            sql.append("delete from ").append(logTable).append(" where stmt in (select stmt from")
                    .append(" etl_rollback.statement where mig in (select mig from forgotten));\n");
        }
        sql.append("""
                delete from etl_rollback.checkpoint where mig in (select mig from forgotten);
                delete from etl_rollback.statement where mig in (select mig from forgotten);
                delete from etl_rollback.migration where rollback_of in (select mig from forgotten);
                delete from etl_rollback.migration where mig in (select mig from forgotten);
                """);
        DB.execute(sql.toString());
        assertThat(DB.dsl().fetchValue("select count(*) from etl_rollback.migrations where migration_id = {0}",
                migrationId)).isEqualTo(0L);
    }

    private static String gunzippedFirstLine(Path file) throws IOException {
        try (InputStream in = new GZIPInputStream(Files.newInputStream(file))) {
            String text = new String(in.readNBytes(200), java.nio.charset.StandardCharsets.UTF_8);
            return text.substring(0, Math.max(0, text.indexOf('\n')));
        }
    }
}
