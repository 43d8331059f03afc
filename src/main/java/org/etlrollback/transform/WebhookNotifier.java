package org.etlrollback.transform;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollbackException;
import org.etlrollback.RollbackResult;
import org.etlrollback.internal.database.Database;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Posts an alert as JSON to a URL when a transformer's run fails, with what its automatic rollback did:
 *
 * <pre>{@code
 * transformer.addListener(WebhookNotifier.to(URI.create("https://monitoring.example.com/alerts/etl-rollback"))
 *         .withTimeout(Duration.ofSeconds(5)));
 * }</pre>
 *
 * <p>The body, {@code Content-Type: application/json}:
 *
 * <pre>{@code
 * {"event": "migration_failed", "transformer": "PatientTransformer",
 *  "migration_id": "PatientTransformer_1640995200", "timestamp": "2026-01-05T10:00:00Z",
 *  "started_at": "2026-01-05T09:59:58Z", "duration_ms": 2104,
 *  "error": {"class": "java.lang.IllegalStateException", "message": "..."},
 *  "rollback_attempted": true, "rollback_outcome": "rolled_back",
 *  "rollback": {"outcome": "rolled_back", "rows_restored": 120, "tables": 2, "conflicts": 0, "duration_ms": 85},
 *  "rollback_error": null}
 * }</pre>
 *
 * {@code rollback_outcome} is one of {@code rolled_back}, {@code nothing_to_roll_back}, {@code failed},
 * {@code disabled}, {@code not_logged}. No credentials are sent: messages have passwords and the user-info of URLs
 * taken out, and nothing about the database connection is included. Sending waits at most the timeout (5 s by
 * default); a failure to send, a timeout or an error status is logged as a warning and never reaches the ETL.
 * Instances are immutable and may be shared between transformers.
 */
public final class WebhookNotifier implements MigrationListener {
    private static final Logger LOG = LoggerFactory.getLogger(WebhookNotifier.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The default time to wait for the connection, and for the answer. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);

    private final URI uri;
    private final Duration timeout;
    private final Map<String, String> headers;
    private final HttpClient client;

    private WebhookNotifier(URI uri, Duration timeout, Map<String, String> headers) {
        this.uri = uri;
        this.timeout = timeout;
        this.headers = Map.copyOf(headers);
        this.client = HttpClient.newBuilder().connectTimeout(timeout).followRedirects(HttpClient.Redirect.NEVER)
                .build();
    }

    /**
     * A notifier posting to the URL, with the default timeout.
     *
     * @throws EtlRollbackException with {@link ErrorCode#USAGE} when the URL is not an absolute http or https URL
     */
    public static WebhookNotifier to(URI uri) {
        Objects.requireNonNull(uri, "uri");
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if ((!scheme.equals("http") && !scheme.equals("https")) || uri.getHost() == null) {
            throw new EtlRollbackException(ErrorCode.USAGE, "webhook: " + describe(uri) + " is not an http or https"
                    + " URL; write it as https://HOST/PATH");
        }
        return new WebhookNotifier(uri, DEFAULT_TIMEOUT, Map.of());
    }

    /** The same notifier, waiting at most this long to connect, and as long again for the answer. */
    public WebhookNotifier withTimeout(Duration value) {
        Objects.requireNonNull(value, "timeout");
        if (value.isNegative() || value.isZero()) {
            throw new EtlRollbackException(ErrorCode.USAGE, "webhook: the timeout must be positive, was " + value);
        }
        return new WebhookNotifier(uri, value, headers);
    }

    /**
     * The same notifier, sending this header too, e.g. {@code Authorization}. Header values are never logged.
     */
    public WebhookNotifier withHeader(String name, String value) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(value, "value");
        Map<String, String> more = new LinkedHashMap<>(headers);
        more.put(name, value);
        return new WebhookNotifier(uri, timeout, more);
    }

    @Override
    public void failed(MigrationFailure failure) {
        send(payload(failure, Instant.now()));
    }

    /** The JSON body for a failure, as {@link #failed(MigrationFailure)} sends it. */
    static String payload(MigrationFailure f, Instant now) {
        ObjectNode body = JSON.createObjectNode();
        body.put("event", "migration_failed");
        body.put("transformer", f.transformer());
        body.put("migration_id", f.migrationId());
        body.put("timestamp", now.toString());
        body.put("started_at", f.startedAt().toString());
        body.put("duration_ms", f.duration().toMillis());
        error(body.putObject("error"), f.error());
        body.put("rollback_attempted", f.rollbackAttempted());
        body.put("rollback_outcome", f.autoRollback().name().toLowerCase(Locale.ROOT));
        if (f.rollback().isPresent()) {
            RollbackResult r = f.rollback().get();
            ObjectNode rollback = body.putObject("rollback");
            rollback.put("outcome", r.outcome().name().toLowerCase(Locale.ROOT));
            rollback.put("rows_restored", r.rowsRestored());
            rollback.put("tables", r.tables().size());
            rollback.put("conflicts", r.conflictCount());
            rollback.put("duration_ms", r.duration().toMillis());
        } else {
            body.putNull("rollback");
        }
        if (f.rollbackFailure().isPresent()) {
            error(body.putObject("rollback_error"), f.rollbackFailure().get());
        } else {
            body.putNull("rollback_error");
        }
        try {
            return JSON.writeValueAsString(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write the alert as JSON", e);
        }
    }

    private static void error(ObjectNode node, Throwable e) {
        node.put("class", e.getClass().getName());
        node.put("message", e.getMessage() == null ? null : Database.redact(e.getMessage()));
    }

    private void send(String body) {
        try {
            HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(timeout)
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body));
            headers.forEach(request::header);
            HttpResponse<Void> response = client.send(request.build(), HttpResponse.BodyHandlers.discarding());
            if (response.statusCode() / 100 != 2) {
                LOG.warn("Rollback alert to {} was answered with HTTP {}", describe(uri), response.statusCode());
            } else {
                LOG.debug("Rollback alert sent to {}", describe(uri));
            }
        } catch (IOException e) {
            LOG.warn("Could not send the rollback alert to {}: {}", describe(uri), e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            LOG.warn("Sending the rollback alert to {} was interrupted", describe(uri));
        } catch (RuntimeException e) {
            LOG.warn("Could not send the rollback alert to {}: {}", describe(uri), e.toString());
        }
    }

    /** The URL without user-info, query or fragment, for messages. */
    private static String describe(URI uri) {
        if (uri.getHost() == null) {
            return "'" + Database.redact(uri.getScheme() == null ? "" : uri.getScheme() + ":...") + "'";
        }
        return uri.getScheme() + "://" + uri.getHost() + (uri.getPort() < 0 ? "" : ":" + uri.getPort())
                + (uri.getRawPath() == null ? "" : uri.getRawPath());
    }

    @Override
    public String toString() {
        return "WebhookNotifier[" + describe(uri) + ", timeout " + timeout + "]";
    }
}
