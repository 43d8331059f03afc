package org.etlrollback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;

import org.etlrollback.cli.CliProcess;
import org.etlrollback.cli.CliProcess.Outcome;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.Test;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.ComposeContainer;
import org.testcontainers.containers.wait.strategy.Wait;

/**
 * The PostgreSQL of docker-compose.yml, as a user starts it, with the packaged command line: install,
 * track, a tagged change, and the change in the log. Needs Docker; skipped, saying so, without it.
 */
class ComposeIT {
    private static final String SERVICE = "postgres";

    private static boolean dockerAvailable() {
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException | LinkageError e) {
            return false;
        }
    }

    @Test
    void theComposePostgresTakesAnInstallATrackAndATaggedChange() throws IOException, SQLException {
        boolean docker = dockerAvailable();
        String why = "Docker is not available here (Testcontainers found no Docker environment), so "
                + "docker-compose.yml cannot be started; the other integration tests use an embedded PostgreSQL";
        if (!docker) {
            System.err.println("ComposeIT skipped: " + why);
        }
        assumeTrue(docker, why);
        int hostPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            hostPort = socket.getLocalPort();
        }
        try (ComposeContainer compose = new ComposeContainer(new File("docker-compose.yml"))
                .withEnv("ETL_ROLLBACK_PG_PORT", String.valueOf(hostPort))
                .withExposedService(SERVICE, 5432, Wait.forHealthcheck().withStartupTimeout(Duration.ofMinutes(3)))) {
            compose.start();
            String url = "jdbc:postgresql://" + compose.getServiceHost(SERVICE, 5432) + ":"
                    + compose.getServicePort(SERVICE, 5432) + "/etl";
            Map<String, String> env = Map.of("ETL_ROLLBACK_URL", url, "ETL_ROLLBACK_USER", "etl",
                    "ETL_ROLLBACK_PASSWORD", "etl");
            try (Connection connection = DriverManager.getConnection(url, "etl", "etl");
                 Statement statement = connection.createStatement()) {
                statement.execute("CREATE TABLE public.customers (id int PRIMARY KEY, name text)");

                Outcome install = CliProcess.run(env, "install");
                Outcome track = CliProcess.run(env, "track", "public.customers");
                statement.execute("SET etl_rollback.migration_id = 'compose_load'");
                statement.execute("INSERT INTO public.customers VALUES (1, 'Ada')");
                statement.execute("RESET etl_rollback.migration_id");

                assertThat(install.exitCode()).as(install.toString()).isZero();
                assertThat(install.out()).startsWith("installed etl-rollback schema version 3");
                assertThat(track.exitCode()).as(track.toString()).isZero();
                assertThat(DSL.using(connection).fetchValue(
                        "SELECT new_row::text FROM etl_rollback.changes WHERE migration_id = 'compose_load'"))
                        .isEqualTo("{\"id\": 1, \"name\": \"Ada\"}");
            }
        }
    }
}
