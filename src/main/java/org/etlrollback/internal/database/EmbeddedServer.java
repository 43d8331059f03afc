package org.etlrollback.internal.database;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.sql.DataSource;
import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollbackException;

/**
 * A throw-away PostgreSQL started from the binaries in the jar, for commands run with no database given.
 * Its data directory is removed when it is closed.
 */
public final class EmbeddedServer implements AutoCloseable {
    private final EmbeddedPostgres postgres;

    private EmbeddedServer(EmbeddedPostgres postgres) {
        this.postgres = postgres;
    }

    public static EmbeddedServer start() {
        try {
            Path dataDirectory = Files.createTempDirectory("etl-rollback-pg");
            return new EmbeddedServer(EmbeddedPostgres.builder()
                    .setDataDirectory(dataDirectory)
                    .setCleanDataDirectory(true)
                    .setOutputRedirector(ProcessBuilder.Redirect.DISCARD)
                    .setErrorRedirector(ProcessBuilder.Redirect.DISCARD)
                    .start());
        } catch (IOException | RuntimeException e) {
            throw new EtlRollbackException(ErrorCode.FAILED, "could not start the embedded PostgreSQL: "
                    + e.getMessage() + ". Give a database with --url instead.", e);
        }
    }

    public DataSource dataSource() {
        return postgres.getPostgresDatabase();
    }

    public String url() {
        return postgres.getJdbcUrl("postgres", "postgres");
    }

    @Override
    public void close() {
        try {
            postgres.close();
        } catch (IOException e) {
            throw new EtlRollbackException(ErrorCode.FAILED, "could not stop the embedded PostgreSQL: "
                    + e.getMessage(), e);
        }
    }
}
