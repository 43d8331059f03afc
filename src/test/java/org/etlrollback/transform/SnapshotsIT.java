package org.etlrollback.transform;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.etlrollback.transform.ScriptedTransformer.sql;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;

import org.etlrollback.CleanupResult;
import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollbackException;
import org.etlrollback.MigrationSummary;
import org.etlrollback.RollbackResult;
import org.etlrollback.TableState;
import org.etlrollback.TestDatabase;
import org.etlrollback.transform.RollbackConfig.ArchiveCompression;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SnapshotsIT {
    private static final TestDatabase DB = TestDatabase.forClass(SnapshotsIT.class);
    private static final List<String> TABLES = List.of("clinic.patients");

    private final RollbackConfig config = RollbackConfig.defaults();

    @BeforeEach
    void schema() throws SQLException {
        untagged("""
                delete from etl_rollback.checkpoint;
                delete from etl_rollback.statement;
                delete from etl_rollback.migration where rollback_of is not null;
                delete from etl_rollback.migration;
                drop schema if exists clinic cascade;
                create schema clinic;
                create table clinic.patients(id int primary key, name text, balance double precision);
                create table clinic.departments(id int primary key, name text);
                insert into clinic.patients select g, 'p' || g, g / 3.0 from generate_series(1, 10) g;
                insert into clinic.departments values (1, 'cardiology');
                select etl_rollback.track('clinic.patients');
                """);
    }

    @Test
    void listSnapshotsShowsTheTransformersNewestFirst() {
        run("first_1", "update clinic.patients set name = 'x' where id = 1");
        run("second_1", "delete from clinic.patients where id = 2");

        List<MigrationSummary> snapshots = Snapshots.using(DB.dataSource(), config).listSnapshots();

        assertThat(snapshots).extracting(MigrationSummary::migrationId).containsExactly("second_1", "first_1");
        assertThat(snapshots.get(0).name()).contains("ScriptedTransformer");
        assertThat(snapshots.get(0).tables()).containsExactly("clinic.patients");
        assertThat(snapshots.get(0).status()).isEqualTo(MigrationSummary.Status.ACTIVE);
    }

    @Test
    void rollbackMigrationUndoesOneMigrationById() {
        Map<String, String> before = state();
        run("load_1", "update clinic.patients set balance = balance * 2; delete from clinic.patients where id = 3");

        RollbackResult result = Snapshots.using(DB.dataSource(), config).rollbackMigration("load_1");

        assertThat(result.outcome()).isEqualTo(RollbackResult.Outcome.ROLLED_BACK);
        assertThat(result.verified()).isTrue();
        assertThat(state()).isEqualTo(before);
        assertThatThrownBy(() -> Snapshots.using(DB.dataSource(), config).rollbackMigration("nope"))
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.FAILED))
                .hasMessageContaining("unknown migration id nope");
    }

    @Test
    void createSnapshotTracksTheTablesAndRegistersTheMigration() throws SQLException {
        Map<String, String> before = state();
        Snapshots snapshots = Snapshots.using(DB.dataSource(), config);

        MigrationSummary snapshot = snapshots.createSnapshot("manual_backup_001", "ManualBackup",
                List.of("clinic.patients", "clinic.departments"));

        assertThat(snapshot.migrationId()).isEqualTo("manual_backup_001");
        assertThat(snapshot.name()).contains("ManualBackup");
        assertThat(DB.dsl().fetchValue("select count(*) from etl_rollback.tracked_tables"
                + " where table_name = 'clinic.departments'")).isEqualTo(1L);
        assertThat(DB.dsl().fetchValue("select name from etl_rollback.checkpoints"
                + " where migration_id = 'manual_backup_001'")).isEqualTo("snapshot");

        try (Connection c = DB.connect(); Statement s = c.createStatement()) {
            s.execute("set etl_rollback.migration_id = 'manual_backup_001'");
            s.execute("update clinic.departments set name = 'cardio'; delete from clinic.patients where id > 5");
        }
        snapshots.rollbackMigration("manual_backup_001");
        assertThat(state()).isEqualTo(before);

        assertThatThrownBy(() -> snapshots.createSnapshot("manual_backup_001", "again", TABLES))
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.FAILED))
                .hasMessageContaining("is in the log already");
        assertThatThrownBy(() -> snapshots.createSnapshot("manual_backup_002", "none", List.of()))
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.USAGE));
    }

    @Test
    void cleanupOldSnapshotsDeletesTheLogsOfOldMigrations() {
        run("old_1", "update clinic.patients set name = 'x' where id = 1");
        Snapshots snapshots = Snapshots.using(DB.dataSource(), config);

        assertThat(snapshots.cleanupOldSnapshots().deleted()).as("younger than keep-days (30)").isEmpty();
        CleanupResult cleanup = snapshots.cleanupOldSnapshots(0);

        assertThat(cleanup.dryRun()).isFalse();
        assertThat(cleanup.migrationIds()).containsExactly("old_1");
        assertThat(snapshots.listSnapshots()).isEmpty();
        assertThatThrownBy(() -> snapshots.cleanupOldSnapshots(-1))
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.USAGE))
                .hasMessageContaining("days must be 0 or more");
    }

    @Test
    void archivedSnapshotsCanBeImportedAndRolledBackAfterTheCleanup(@TempDir Path archive) throws Exception {
        Map<String, String> before = state();
        run("nightly_1", "update clinic.patients set balance = balance / 7, name = name || '''' where id <= 4");
        run("nightly_2", "insert into clinic.patients values (11, 'new', 1e-310); delete from clinic.patients"
                + " where id = 10");
        Snapshots snapshots = Snapshots.using(DB.dataSource(), config.withArchiveDirectory(archive)
                .withArchiveCompression(ArchiveCompression.GZIP));

        CleanupResult cleanup = snapshots.cleanupOldSnapshots(0);

        assertThat(cleanup.migrationIds()).containsExactlyInAnyOrder("nightly_1", "nightly_2");
        assertThat(snapshots.listSnapshots()).isEmpty();
        assertThat(archive.resolve("nightly_1.jsonl.gz")).isRegularFile();
        assertThat(archive.resolve("nightly_2.jsonl.gz")).isRegularFile();
        try (var files = Files.list(archive)) {
            assertThat(files).hasSize(2);
        }

        MigrationArchive archives = MigrationArchive.using(DB.dataSource());
        archives.importFrom(archive.resolve("nightly_2.jsonl.gz"));
        archives.importFrom(archive.resolve("nightly_1.jsonl.gz"));
        snapshots.rollbackMigration("nightly_2");
        snapshots.rollbackMigration("nightly_1");

        assertThat(state()).isEqualTo(before);
    }

    @Test
    void exportFailureDeletesNothing(@TempDir Path dir) throws Exception {
        run("kept_1", "update clinic.patients set name = 'x' where id = 1");
        Path notADirectory = Files.writeString(dir.resolve("file"), "");
        Snapshots snapshots = Snapshots.using(DB.dataSource(),
                config.withArchiveDirectory(notADirectory.resolve("archive")));

        assertThatThrownBy(() -> snapshots.cleanupOldSnapshots(0)).isInstanceOf(EtlRollbackException.class)
                .hasMessageContaining("export of kept_1");
        assertThat(snapshots.listSnapshots()).extracting(MigrationSummary::migrationId).containsExactly("kept_1");
    }

    private void run(String migrationId, String statements) {
        new ScriptedTransformer(DB.dataSource(), config, migrationId, TABLES, sql(statements, null)).safeRun();
    }

    private static Map<String, String> state() {
        return TableState.of(DB.dsl(), "clinic.patients", "clinic.departments");
    }

    private static void untagged(String statements) throws SQLException {
        try (Connection c = DB.connect(); Statement s = c.createStatement()) {
            s.execute(statements);
        }
    }
}
