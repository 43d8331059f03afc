package org.etlrollback.transform;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Objects;
import javax.sql.DataSource;

import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollbackException;
import org.etlrollback.internal.archive.Archiver;
import org.etlrollback.internal.database.Database;
import org.etlrollback.transform.RollbackConfig.ArchiveCompression;

/**
 * Exports one migration's log to a file, and imports it back, so that a migration whose log was cleaned up can
 * still be rolled back:
 *
 * <pre>{@code
 * MigrationArchive archive = MigrationArchive.using(dataSource);
 * ArchivedMigration saved = archive.exportTo("PatientTransformer_1640995200", Path.of("/var/lib/etl/archive"),
 *         ArchiveCompression.GZIP);
 * // ... the log is cleaned up; months later:
 * archive.importFrom(saved.file());
 * Reverser.using(dataSource).rollback("PatientTransformer_1640995200");
 * }</pre>
 *
 * <p>An archive is JSON lines, gzip-compressed or plain: the migration's catalog row, the tables it changed with
 * their logged columns, its statements, checkpoints and log rows, every value as a text form that reads back to the
 * same value. It goes back into the database it came from (or a copy of it): the log's sequence numbers, which
 * order the migration's changes among all others, are kept. Exporting needs the rights of
 * {@code etl_rollback_admin}; importing writes the log tables, which only the owner of etl-rollback may.
 */
public final class MigrationArchive {
    private final Archiver archiver;

    private MigrationArchive(Database database) {
        this.archiver = new Archiver(database);
    }

    public static MigrationArchive using(DataSource dataSource) {
        return new MigrationArchive(Database.of(Objects.requireNonNull(dataSource, "dataSource")));
    }

    /**
     * Writes the migration's log to {@code file}, gzip-compressed when its name ends with {@code .gz}. The file is
     * replaced whole, or left as it was when the export fails.
     *
     * @throws EtlRollbackException when the migration is unknown or still being written by an open transaction
     */
    public ArchivedMigration export(String migrationId, Path file) {
        Objects.requireNonNull(migrationId, "migrationId");
        Objects.requireNonNull(file, "file");
        boolean gzip = file.getFileName().toString().endsWith(".gz");
        return archived(archiver.export(migrationId, file, gzip), file);
    }

    /**
     * Writes the migration's log into the directory (created when missing), in the file
     * {@link #fileName(String, ArchiveCompression)} names.
     */
    public ArchivedMigration exportTo(String migrationId, Path directory, ArchiveCompression compression) {
        Objects.requireNonNull(directory, "directory");
        return export(migrationId, directory.resolve(fileName(migrationId, compression)));
    }

    /**
     * Reads an archive back into the log, in one transaction; gzip-compressed or plain.
     *
     * @throws EtlRollbackException when the log has the migration already, the file is not an archive, or a table's
     *                              log no longer has the columns the archive holds; nothing is imported then
     */
    public ArchivedMigration importFrom(Path file) {
        Objects.requireNonNull(file, "file");
        return archived(archiver.importArchive(file), file);
    }

    /**
     * The archive file name of a migration: its id with characters other than letters, digits, {@code .},
     * {@code _} and {@code -}, and a leading {@code .}, replaced by {@code _} (and then a short hash of the id, to
     * keep ids apart), and {@code .jsonl.gz} or {@code .jsonl}.
     */
    public static String fileName(String migrationId, ArchiveCompression compression) {
        Objects.requireNonNull(migrationId, "migrationId");
        if (migrationId.isEmpty()) {
            throw new EtlRollbackException(ErrorCode.USAGE, "archive: a migration id is empty");
        }
        String safe = migrationId.replaceAll("[^A-Za-z0-9._-]", "_").replaceFirst("^\\.", "_");
        if (!safe.equals(migrationId)) {
            byte[] id = migrationId.getBytes(StandardCharsets.UTF_8);
            int hash = java.util.Arrays.hashCode(id);
            safe = safe + "-" + HexFormat.of().toHexDigits(hash);
        }
        return safe + (compression == ArchiveCompression.GZIP ? ".jsonl.gz" : ".jsonl");
    }

    private static ArchivedMigration archived(Archiver.Summary summary, Path file) {
        return new ArchivedMigration(summary.migrationId(), file, summary.tables(), summary.statements(),
                summary.checkpoints(), summary.rows());
    }
}
