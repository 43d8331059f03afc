package org.etlrollback.internal.install;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollbackException;
import org.etlrollback.InstallResult;
import org.etlrollback.internal.database.Database;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.CoreErrorCode;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.MigrationInfo;
import org.flywaydb.core.api.MigrationInfoService;
import org.flywaydb.core.api.MigrationState;
import org.flywaydb.core.api.output.MigrateResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Installs or upgrades the {@code etl_rollback} schema with Flyway. The engine keeps its own
 * history table inside its own schema, so a host application's Flyway history is never read or
 * written, and its scripts sit under a classpath folder no application scans.
 *
 * <p>All pending scripts run in one transaction: an install happens whole or not at all. Running it
 * again is harmless: nothing is pending, nothing runs.
 */
public final class Installer {
    /** The schema everything the engine installs lives in, its Flyway history included. */
    public static final String SCHEMA = "etl_rollback";
    /** Where the install scripts are packaged (copied from {@code db/migration} by the build). */
    static final String LOCATION = "classpath:org/etlrollback/install";
    static final String HISTORY_TABLE = "flyway_schema_history";

    private static final Logger LOG = LoggerFactory.getLogger(Installer.class);

    private final Database database;
    private final List<String> locations;

    public Installer(Database database) {
        this(database, LOCATION);
    }

    /** For tests of upgrades: install from other script locations than the packaged ones. */
    Installer(Database database, String... locations) {
        this.database = database;
        this.locations = List.of(locations);
    }

    /**
     * Brings the {@code etl_rollback} schema to the version of this build.
     *
     * @throws EtlRollbackException when the server cannot be reached, the database holds a newer
     *                              install than this build, or a script fails (nothing is changed then)
     */
    public InstallResult install() {
        // Connect once ourselves first: a connection failure then reads like every other one.
        try (Connection connection = database.connect()) {
            LOG.info("Installing etl-rollback into {} (PostgreSQL {})", database.description(),
                    connection.getMetaData().getDatabaseProductVersion());
        } catch (SQLException e) {
            throw database.failure("install", e, "Nothing was changed.");
        }
        Flyway flyway = flyway();
        try {
            MigrationInfoService before = flyway.info();
            refuseDowngrade(before);
            String previous = version(before.current());
            MigrateResult result = flyway.migrate();
            String current = version(flyway.info().current());
            LOG.info("etl-rollback schema is at version {}; install scripts applied: {}", current, result.migrationsExecuted);
            return new InstallResult(current, previous, result.migrationsExecuted);
        } catch (FlywayException e) {
            if (e.getErrorCode() == CoreErrorCode.NON_EMPTY_SCHEMA_WITHOUT_SCHEMA_HISTORY_TABLE) {
                throw new EtlRollbackException(ErrorCode.FAILED, "install: the schema " + SCHEMA + " exists and holds "
                        + "objects, but no etl-rollback install history (" + SCHEMA + "." + HISTORY_TABLE + "): it was "
                        + "not made by etl-rollback, or its history was dropped. Rename or drop that schema, then "
                        + "install again. Nothing was changed. (database: " + database.description() + ")", e);
            }
            throw database.failure("install", e, "None of the install scripts was applied: they run in one transaction.");
        }
    }

    private Flyway flyway() {
        return Flyway.configure(Installer.class.getClassLoader())
                .dataSource(database.dataSource())
                .schemas(SCHEMA)
                .defaultSchema(SCHEMA)
                .table(HISTORY_TABLE)
                .createSchemas(true)
                .locations(locations.toArray(String[]::new))
                .failOnMissingLocations(true)
                .validateMigrationNaming(true)
                .validateOnMigrate(true)
                .placeholderReplacement(false)
                .group(true)
                .mixed(false)
                .outOfOrder(false)
                .baselineOnMigrate(false)
                .cleanDisabled(true)
                .loggers("slf4j")
                .load();
    }

    /** An older build must not overwrite the functions of a newer install. */
    private void refuseDowngrade(MigrationInfoService info) {
        List<MigrationInfo> future = Arrays.stream(info.all())
                .filter(m -> m.getState() == MigrationState.FUTURE_SUCCESS || m.getState() == MigrationState.FUTURE_FAILED)
                .collect(Collectors.toList());
        if (!future.isEmpty()) {
            throw new EtlRollbackException(ErrorCode.FAILED,
                    "install: refused: the etl_rollback schema is at version " + version(future.get(future.size() - 1))
                            + ", newer than this build of etl-rollback knows. Use the etl-rollback version that "
                            + "installed it, or a newer one. Nothing was changed. (database: "
                            + database.description() + ")");
        }
    }

    private static String version(MigrationInfo migration) {
        return migration == null || migration.getVersion() == null ? null : migration.getVersion().getVersion();
    }
}
