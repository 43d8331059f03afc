package org.etlrollback.transform;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.etlrollback.transform.ScriptedTransformer.sql;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollbackException;
import org.etlrollback.TestDatabase;
import org.etlrollback.transform.MigrationFailure.AutoRollback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class WebhookNotifierIT {
    private static final TestDatabase DB = TestDatabase.forClass(WebhookNotifierIT.class);
    private static final List<String> TABLES = List.of("clinic.patients");

    /** What the test server received: one request body per alert, with its Authorization header. */
    private record Received(String body, String authorization, String contentType) {
    }

    private final BlockingQueue<Received> received = new LinkedBlockingQueue<>();
    private final CountDownLatch release = new CountDownLatch(1);
    private final ExecutorService handlers = Executors.newCachedThreadPool();
    private HttpServer server;
    private volatile int status = 204;
    private volatile boolean hang;

    @BeforeEach
    void setUp() throws IOException, SQLException {
        try (Connection c = DB.connect(); Statement s = c.createStatement()) {
            s.execute("""
                    delete from etl_rollback.checkpoint;
                    delete from etl_rollback.statement;
                    delete from etl_rollback.migration;
                    drop schema if exists clinic cascade;
                    create schema clinic;
                    create table clinic.patients(id int primary key, name text);
                    insert into clinic.patients select g, 'p' || g from generate_series(1, 5) g;
                    select etl_rollback.track('clinic.patients');
                    """);
        }
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(handlers);
        server.createContext("/alerts", this::handle);
        server.start();
    }

    @AfterEach
    void tearDown() {
        release.countDown();
        server.stop(0);
        handlers.shutdownNow();
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (InputStream in = exchange.getRequestBody()) {
            received.add(new Received(new String(in.readAllBytes(), StandardCharsets.UTF_8),
                    exchange.getRequestHeaders().getFirst("Authorization"),
                    exchange.getRequestHeaders().getFirst("Content-Type")));
        }
        if (hang) {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        exchange.sendResponseHeaders(status, -1);
        exchange.close();
    }

    @Test
    void failedRunPostsTheAlertAsJsonWithoutSecrets() throws Exception {
        String secretUrl = "jdbc:postgresql://legacy:5432/clinic?user=etl&password=hunter2";
        ScriptedTransformer transformer = failing("alert_1",
                new IllegalStateException("cannot read " + secretUrl + " nor postgresql://etl:hunter2@legacy/clinic"));
        transformer.addListener(WebhookNotifier.to(alerts()).withTimeout(Duration.ofSeconds(10))
                .withHeader("Authorization", "Bearer monitoring-token"));

        Instant before = Instant.now();
        assertThatThrownBy(transformer::safeRun).isInstanceOf(MigrationFailedException.class);

        Received alert = received.poll(10, TimeUnit.SECONDS);
        assertThat(alert).isNotNull();
        assertThat(alert.contentType()).isEqualTo("application/json");
        assertThat(alert.authorization()).isEqualTo("Bearer monitoring-token");
        JsonNode json = new ObjectMapper().readTree(alert.body());
        assertThat(json.get("event").asText()).isEqualTo("migration_failed");
        assertThat(json.get("transformer").asText()).isEqualTo("ScriptedTransformer");
        assertThat(json.get("migration_id").asText()).isEqualTo("alert_1");
        assertThat(Instant.parse(json.get("timestamp").asText())).isAfterOrEqualTo(before.minusSeconds(1));
        assertThat(json.get("error").get("class").asText()).isEqualTo("java.lang.IllegalStateException");
        assertThat(json.get("error").get("message").asText()).contains("cannot read", "password=***", ":***@");
        assertThat(json.get("rollback_attempted").asBoolean()).isTrue();
        assertThat(json.get("rollback_outcome").asText()).isEqualTo("rolled_back");
        assertThat(json.get("rollback").get("outcome").asText()).isEqualTo("rolled_back");
        assertThat(json.get("rollback").get("rows_restored").asLong()).isEqualTo(2);
        assertThat(json.get("rollback_error").isNull()).isTrue();
        assertThat(alert.body()).doesNotContain("hunter2", DB.password(), DB.url(), "monitoring-token");
        assertThat(received).isEmpty();
    }

    @Test
    void successfulRunSendsNothing() throws Exception {
        ScriptedTransformer transformer = new ScriptedTransformer(DB.dataSource(), RollbackConfig.defaults(),
                "alert_2", TABLES, sql("update clinic.patients set name = 'x' where id = 1", null));
        transformer.addListener(WebhookNotifier.to(alerts()));
        transformer.safeRun();
        assertThat(received).isEmpty();
    }

    @Test
    void webhookAnsweringWithAnErrorDoesNotBreakTheRun() {
        status = 500;
        ScriptedTransformer transformer = failing("alert_3", new IllegalStateException("boom"));
        transformer.addListener(WebhookNotifier.to(alerts()));

        assertThatThrownBy(transformer::safeRun).isInstanceOfSatisfying(MigrationFailedException.class,
                e -> assertThat(e.failure().autoRollback()).isEqualTo(AutoRollback.ROLLED_BACK));
        assertThat(received).hasSize(1);
    }

    @Test
    void unreachableWebhookDoesNotBreakTheRun() {
        URI nowhere = alerts();
        server.stop(0);
        ScriptedTransformer transformer = failing("alert_4", new IllegalStateException("boom"));
        transformer.addListener(WebhookNotifier.to(nowhere).withTimeout(Duration.ofSeconds(2)));

        assertThatThrownBy(transformer::safeRun).isInstanceOfSatisfying(MigrationFailedException.class,
                e -> assertThat(e.getCause()).hasMessage("boom"));
    }

    @Test
    void slowWebhookIsAbandonedAfterItsTimeout() {
        hang = true;
        IllegalStateException boom = new IllegalStateException("boom");
        ScriptedTransformer transformer = failing("alert_5", boom);
        transformer.addListener(WebhookNotifier.to(alerts()).withTimeout(Duration.ofMillis(300)));

        // the server never answers until the test ends: the run must end anyway, with its own exception
        assertThatThrownBy(transformer::safeRun).isInstanceOfSatisfying(MigrationFailedException.class, e -> {
            assertThat(e.getCause()).isSameAs(boom);
            assertThat(e.failure().autoRollback()).isEqualTo(AutoRollback.ROLLED_BACK);
        });
    }

    @Test
    void onlyHttpUrlsAreAccepted() {
        assertThatThrownBy(() -> WebhookNotifier.to(URI.create("ftp://user:secret@example.com/alerts")))
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.USAGE))
                .hasMessageContaining("not an http or https URL")
                .hasMessageNotContaining("secret");
        assertThatThrownBy(() -> WebhookNotifier.to(alerts()).withTimeout(Duration.ZERO))
                .hasMessageContaining("timeout must be positive");
    }

    private ScriptedTransformer failing(String migrationId, Exception failure) {
        return new ScriptedTransformer(DB.dataSource(), RollbackConfig.defaults(), migrationId, TABLES,
                sql("update clinic.patients set name = 'changed' where id <= 2", failure));
    }

    private URI alerts() {
        return URI.create("http://" + server.getAddress().getHostString() + ":" + server.getAddress().getPort()
                + "/alerts");
    }
}
