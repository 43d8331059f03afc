package org.etlrollback.cli;

import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollback;
import org.etlrollback.EtlRollbackException;
import org.etlrollback.internal.database.Database;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * How the command line finds its database. Each setting comes from the first place that has it:
 * the option, then {@code ETL_ROLLBACK_URL}/{@code _USER}/{@code _PASSWORD}, then libpq's
 * {@code PGHOST}, {@code PGPORT}, {@code PGDATABASE}, {@code PGUSER}, {@code PGPASSWORD}.
 * The options may be given before or after the command.
 */
final class ConnectionOptions {
    @Option(names = "--url", paramLabel = "JDBC_URL", scope = ScopeType.INHERIT,
            description = "The database, jdbc:postgresql://HOST:PORT/DATABASE. "
                    + "Else ETL_ROLLBACK_URL, else built from PGHOST, PGPORT, PGDATABASE.")
    String url;

    @Option(names = "--user", paramLabel = "USER", scope = ScopeType.INHERIT,
            description = "The user to connect as. Else ETL_ROLLBACK_USER, else PGUSER.")
    String user;

    @Option(names = "--password", paramLabel = "PASSWORD", scope = ScopeType.INHERIT,
            description = "The password. Else --password-file, else ETL_ROLLBACK_PASSWORD, else PGPASSWORD; "
                    + "prefer those, since other users of the machine can see a command line.")
    String password;

    @Option(names = "--password-file", paramLabel = "FILE", scope = ScopeType.INHERIT,
            description = "A file whose first line is the password.")
    Path passwordFile;

    /** The settings in effect, given the process's environment. */
    Settings resolve(Map<String, String> env) {
        return resolveIfGiven(env).orElseThrow(() -> usage("no database given: use --url "
                + "jdbc:postgresql://HOST:PORT/DATABASE, or set ETL_ROLLBACK_URL, or libpq's PGHOST, PGPORT and "
                + "PGDATABASE"));
    }

    /** The settings in effect, or nothing when neither the options nor the environment name a database. */
    Optional<Settings> resolveIfGiven(Map<String, String> env) {
        if (password != null && passwordFile != null) {
            throw usage("give either --password or --password-file, not both");
        }
        String resolvedUser = first(user, env.get("ETL_ROLLBACK_USER"), env.get("PGUSER"));
        String resolvedPassword = first(password, readPasswordFile(), env.get("ETL_ROLLBACK_PASSWORD"),
                env.get("PGPASSWORD"));
        String resolvedUrl = first(url, env.get("ETL_ROLLBACK_URL"), libpqUrl(env, resolvedUser));
        if (resolvedUrl == null) {
            return Optional.empty();
        }
        return Optional.of(new Settings(resolvedUrl, resolvedUser, resolvedPassword));
    }

    /** The facade for the resolved settings. */
    EtlRollback load(Map<String, String> env) {
        Settings settings = resolve(env);
        return EtlRollback.configure().url(settings.url()).user(settings.user()).password(settings.password()).load();
    }

    /** Every password these options or the environment could supply, to keep out of any message. */
    List<String> secrets(Map<String, String> env) {
        List<String> secrets = new ArrayList<>();
        secrets.add(password);
        secrets.add(env.get("ETL_ROLLBACK_PASSWORD"));
        secrets.add(env.get("PGPASSWORD"));
        if (passwordFile != null) {
            try {
                secrets.add(readPasswordFile());
            } catch (EtlRollbackException e) {
                // no password to hide then
            }
        }
        secrets.removeIf(s -> s == null || s.isEmpty());
        return secrets;
    }

    private String readPasswordFile() {
        if (passwordFile == null) {
            return null;
        }
        try {
            List<String> lines = Files.readAllLines(passwordFile, StandardCharsets.UTF_8);
            if (lines.isEmpty() || lines.get(0).isEmpty()) {
                throw usage("the password file " + passwordFile + " is empty; its first line must be the password");
            }
            return lines.get(0);
        } catch (IOException e) {
            throw usage("cannot read the password file " + passwordFile + " (" + e.getClass().getSimpleName()
                    + "); check that it exists and is readable");
        }
    }

    /**
     * A URL from libpq's variables, when at least one of PGHOST, PGPORT, PGDATABASE is set; missing
     * ones default as in libpq: localhost, 5432, the user's name. A socket directory in PGHOST is read
     * as localhost, since JDBC connects over TCP.
     */
    static String libpqUrl(Map<String, String> env, String user) {
        String hosts = blankToNull(env.get("PGHOST"));
        String ports = blankToNull(env.get("PGPORT"));
        String database = blankToNull(env.get("PGDATABASE"));
        if (hosts == null && ports == null && database == null) {
            return null;
        }
        String[] hostList = (hosts == null ? "localhost" : hosts).split(",", -1);
        String[] portList = (ports == null ? "5432" : ports).split(",", -1);
        StringBuilder url = new StringBuilder("jdbc:postgresql://");
        for (int i = 0; i < hostList.length; i++) {
            String host = hostList[i].strip();
            if (host.isEmpty() || host.startsWith("/")) {
                host = "localhost";
            } else if (host.contains(":")) {
                host = "[" + host + "]";
            }
            String port = portList[portList.length == 1 ? 0 : Math.min(i, portList.length - 1)].strip();
            url.append(i == 0 ? "" : ",").append(host).append(':').append(port.isEmpty() ? "5432" : port);
        }
        String db = database != null ? database : first(user, System.getProperty("user.name"));
        url.append('/').append(db == null ? "" : URLEncoder.encode(db, StandardCharsets.UTF_8));
        return url.toString();
    }

    @SafeVarargs
    private static <T> T first(T... candidates) {
        for (T candidate : candidates) {
            if (candidate != null && !(candidate instanceof String s && s.isEmpty())) {
                return candidate;
            }
        }
        return null;
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }

    private static EtlRollbackException usage(String message) {
        return new EtlRollbackException(ErrorCode.USAGE, message);
    }

    /** Resolved connection settings. {@link #toString()} leaves the password out. */
    record Settings(String url, String user, String password) {
        @Override
        public String toString() {
            return "Settings[url=" + Database.redact(url) + ", user=" + user
                    + ", password=" + (password == null ? "none" : "***") + "]";
        }
    }
}
