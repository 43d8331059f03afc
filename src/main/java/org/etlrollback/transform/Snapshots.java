package org.etlrollback.transform;

import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.val;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import javax.sql.DataSource;

import org.etlrollback.CleanupResult;
import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollback;
import org.etlrollback.EtlRollbackException;
import org.etlrollback.MigrationSummary;
import org.etlrollback.Reverser;
import org.etlrollback.RollbackResult;
import org.etlrollback.internal.database.Database;
import org.etlrollback.internal.retention.Cleanup;
import org.jooq.SQLDialect;
import org.jooq.exception.DataAccessException;
import org.jooq.impl.DSL;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The migrations in the log, seen as rollback snapshots: list them, roll one back, prepare one for code that is not
 * a {@link Transformer}, and clean up old ones.
 *
 * <pre>{@code
 * Snapshots snapshots = Snapshots.using(dataSource);
 * for (MigrationSummary snapshot : snapshots.listSnapshots()) { ... }
 * snapshots.rollbackMigration("PatientTransformer_1640995200");
 * snapshots.cleanupOldSnapshots(30);
 * }</pre>
 *
 * <p>In etl-rollback a snapshot is not a copy of tables: it is a migration id in the log, whose logged row changes
 * hold the before-images a rollback restores. Its transformer name is the migration's name, its timestamp the time
 * of its first logged change, its affected tables the tables it changed. Rollbacks run with the options of the
 * {@link RollbackConfig}; cleanups archive first when it names an archive directory. Instances are immutable and
 * hold no connection.
 */
public final class Snapshots {
    /** The checkpoint {@link #createSnapshot} sets: the point the snapshot was taken. */
    public static final String SNAPSHOT_CHECKPOINT = "snapshot";
    private static final Logger LOG = LoggerFactory.getLogger(Snapshots.class);

    private final DataSource dataSource;
    private final RollbackConfig config;
    private final EtlRollback etlRollback;

    private Snapshots(DataSource dataSource, RollbackConfig config) {
        this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
        this.config = Objects.requireNonNull(config, "config");
        this.etlRollback = EtlRollback.configure().dataSource(dataSource).load();
    }

    /** The snapshots of the data source's database, with the configuration of {@link RollbackConfig#load()}. */
    public static Snapshots using(DataSource dataSource) {
        return using(dataSource, RollbackConfig.load());
    }

    public static Snapshots using(DataSource dataSource, RollbackConfig config) {
        return new Snapshots(dataSource, config);
    }

    /**
     * Every migration in the log, newest first: id, name (the transformer's), status, start, tables and row
     * changes. Needs the rights of {@code etl_rollback_viewer}.
     */
    public List<MigrationSummary> listSnapshots() {
        return etlRollback.list();
    }

    /**
     * Rolls back the migration with the configuration's options (verification, conflicts, lock timeout), logging
     * its duration, as a warning when slower than {@link RollbackConfig#slowRollbackWarning()}.
     *
     * @throws EtlRollbackException when the rollback is refused ({@link org.etlrollback.ConflictException} for
     *                              conflicts) or fails, or the id is unknown; nothing was changed then
     */
    public RollbackResult rollbackMigration(String migrationId) {
        Objects.requireNonNull(migrationId, "migrationId");
        return TimedRollback.run(Reverser.using(dataSource), migrationId, config.rollbackOptions(),
                config.slowRollbackWarning(), LOG);
    }

    /**
     * Prepares a migration for code that is not a transformer: tracks the tables (or brings their tracking up to
     * date), and registers the migration id under the name, with a checkpoint named {@value #SNAPSHOT_CHECKPOINT}.
     * Whatever sessions tagged with the id ({@code SET etl_rollback.migration_id = '...'}) then change in those
     * tables, {@link #rollbackMigration(String)} undoes. Needs the rights of {@code etl_rollback_admin}.
     *
     * @param migrationId the id to tag the sessions with; not yet in the log
     * @param name        a descriptive name, e.g. the tool or job that will write
     * @param tables      the tables it will write, as in SQL
     * @return the new migration as {@link #listSnapshots()} lists it
     * @throws EtlRollbackException when the id is in the log already, or a table cannot be tracked
     */
    public MigrationSummary createSnapshot(String migrationId, String name, List<String> tables) {
        if (migrationId == null || migrationId.isEmpty()) {
            throw new EtlRollbackException(ErrorCode.USAGE, "createSnapshot: name a migration id");
        }
        if (tables == null || tables.isEmpty()) {
            throw new EtlRollbackException(ErrorCode.USAGE, "createSnapshot: name the tables " + migrationId
                    + " will change, e.g. List.of(\"public.customers\")");
        }
        if (listSnapshots().stream().anyMatch(m -> m.migrationId().equals(migrationId))) {
            throw new EtlRollbackException(ErrorCode.FAILED, "createSnapshot: migration " + migrationId
                    + " is in the log already; choose a new id. Nothing was changed.");
        }
        etlRollback.track(tables.toArray(String[]::new));
        try (Connection connection = dataSource.getConnection()) {
            DSL.using(connection, SQLDialect.POSTGRES).transaction(trx -> trx.dsl().select(
                    field("set_config('etl_rollback.migration_id', {0}, true)", String.class, val(migrationId)),
                    field("set_config('etl_rollback.migration_name', {0}, true)", String.class,
                            val(Objects.requireNonNullElse(name, ""))),
                    field("etl_rollback.checkpoint({0})", Long.class, val(SNAPSHOT_CHECKPOINT))).fetch());
        } catch (SQLException | DataAccessException e) {
            throw Database.of(dataSource).failure("createSnapshot " + migrationId, e,
                    "The tables are tracked; the migration was not registered.");
        }
        LOG.info("Snapshot {} ({}) of {}: tag the sessions that write with this migration id", migrationId, name,
                String.join(", ", tables));
        return listSnapshots().stream().filter(m -> m.migrationId().equals(migrationId)).findFirst().orElseThrow();
    }

    /** Cleans up the snapshots older than {@link RollbackConfig#keepDays()}. */
    public CleanupResult cleanupOldSnapshots() {
        return cleanupOldSnapshots(config.keepDays());
    }

    /**
     * Deletes the logs of the migrations whose last change or checkpoint is more than {@code days} days old; they
     * can no longer be rolled back. With {@link RollbackConfig#archiveDirectory()} set, each is first exported there
     * ({@link MigrationArchive}), and only the migrations exported are deleted: an export that fails leaves every
     * log in place. A migration still being written, or being rolled back, is kept (see {@link CleanupResult#kept()}).
     * Needs the rights of {@code etl_rollback_admin}.
     *
     * @throws EtlRollbackException with {@link ErrorCode#USAGE} for a negative number of days
     */
    public CleanupResult cleanupOldSnapshots(int days) {
        if (days < 0) {
            throw new EtlRollbackException(ErrorCode.USAGE, "cleanupOldSnapshots: days must be 0 or more, was "
                    + days);
        }
        Duration age = Duration.ofDays(days);
        if (config.archiveDirectory().isEmpty()) {
            return etlRollback.cleanup(age, false);
        }
        Path directory = config.archiveDirectory().get();
        CleanupResult planned = etlRollback.cleanup(age, true);
        if (planned.deleted().isEmpty()) {
            return new CleanupResult(planned.cutoff(), false, List.of(), planned.kept());
        }
        MigrationArchive archive = MigrationArchive.using(dataSource);
        List<String> archived = new ArrayList<>();
        for (String migrationId : planned.migrationIds()) {
            archive.exportTo(migrationId, directory, config.archiveCompression());
            archived.add(migrationId);
        }
        // exactly the migrations archived, or none of them
        new Cleanup(Database.of(dataSource)).migrations(archived);
        LOG.info("Archived to {} and deleted the logs of {} migration(s) last active before {}", directory,
                archived.size(), planned.cutoff());
        return new CleanupResult(planned.cutoff(), false, planned.deleted(), planned.kept());
    }
}
