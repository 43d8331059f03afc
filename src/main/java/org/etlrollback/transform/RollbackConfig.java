package org.etlrollback.transform;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.etlrollback.ConflictPolicy;
import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollbackException;
import org.etlrollback.RollbackOptions;

/**
 * How transformers and {@link Snapshots} roll back: read once from {@code etl-rollback.properties}, each key
 * overridable by an environment variable, validated, and immutable from then on.
 *
 * <pre>{@code
 * RollbackConfig config = RollbackConfig.load();                       // classpath, then environment
 * RollbackConfig config = RollbackConfig.load(Path.of("/etc/etl/etl-rollback.properties"));
 * RollbackConfig config = RollbackConfig.defaults().withAutoRollback(false);
 * }</pre>
 *
 * <p>The keys, their defaults and their environment variables (the key in upper case, {@code .} and {@code -} as
 * {@code _}, prefixed with {@code ETL_ROLLBACK_}) are listed in {@code docs/configuration.md}:
 * {@code enabled}, {@code auto-rollback}, {@code verify}, {@code on-conflict}, {@code lock-timeout},
 * {@code slow-rollback-warning}, {@code track-tables}, {@code keep-days}, {@code archive.directory},
 * {@code archive.compression}. An unknown key or a bad value is an {@link EtlRollbackException} with
 * {@link ErrorCode#USAGE} that names the key, where it came from, and what to write instead.
 *
 * @param enabled             whether transformers tag their sessions at all; when false nothing is logged and
 *                            nothing can be rolled back (an unprotected, slightly faster run)
 * @param autoRollback        whether {@link Transformer#safeRun()} rolls back a failed run
 * @param verify              whether rollbacks check every restored row against its before-image before committing
 * @param onConflict          what rollbacks do with rows changed after the migration
 * @param lockTimeout         how long a rollback waits, in all, for its table locks
 * @param slowRollbackWarning a rollback that takes longer is logged as a warning
 * @param trackTables         whether a transformer starts tracking affected tables that are not tracked, rather than
 *                            refusing to run
 * @param keepDays            how many days {@link Snapshots#cleanupOldSnapshots()} keeps migrations' logs
 * @param archiveDirectory    where {@link Snapshots#cleanupOldSnapshots(int)} archives a migration's log before
 *                            deleting it; none: no archive
 * @param archiveCompression  how archive files are written
 */
public record RollbackConfig(boolean enabled, boolean autoRollback, boolean verify, ConflictPolicy onConflict,
                             Duration lockTimeout, Duration slowRollbackWarning, boolean trackTables, int keepDays,
                             Optional<Path> archiveDirectory, ArchiveCompression archiveCompression) {

    /** The file {@link #load()} looks for at the root of the class path. */
    public static final String FILE_NAME = "etl-rollback.properties";
    /** Prefix of the environment variables that override the file. */
    public static final String ENVIRONMENT_PREFIX = "ETL_ROLLBACK_";

    private static final Pattern SIMPLE_DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)");
    private static final List<String> KEYS = List.of("enabled", "auto-rollback", "verify", "on-conflict",
            "lock-timeout", "slow-rollback-warning", "track-tables", "keep-days", "archive.directory",
            "archive.compression");

    /** How archive files are written. */
    public enum ArchiveCompression {
        /** gzip-compressed JSON lines, {@code .jsonl.gz} (the default). */
        GZIP,
        /** Plain JSON lines, {@code .jsonl}. */
        NONE
    }

    public RollbackConfig {
        Objects.requireNonNull(onConflict, "onConflict");
        Objects.requireNonNull(lockTimeout, "lockTimeout");
        Objects.requireNonNull(slowRollbackWarning, "slowRollbackWarning");
        Objects.requireNonNull(archiveDirectory, "archiveDirectory");
        Objects.requireNonNull(archiveCompression, "archiveCompression");
        if (lockTimeout.isNegative() || lockTimeout.isZero()) {
            throw usage("lock-timeout must be positive, was " + lockTimeout);
        }
        if (slowRollbackWarning.isNegative()) {
            throw usage("slow-rollback-warning must not be negative, was " + slowRollbackWarning);
        }
        if (keepDays < 0) {
            throw usage("keep-days must be 0 or more, was " + keepDays);
        }
    }

    /**
     * The defaults: enabled, automatic rollback, verification, abort on conflicts, 10 s lock timeout, warn after
     * 5 min, refuse untracked tables, keep 30 days, no archive, gzip. No file and no environment is read.
     */
    public static RollbackConfig defaults() {
        return new RollbackConfig(true, true, true, ConflictPolicy.ABORT, RollbackOptions.DEFAULT_LOCK_TIMEOUT,
                Duration.ofMinutes(5), false, 30, Optional.empty(), ArchiveCompression.GZIP);
    }

    /**
     * The defaults, overridden by {@code etl-rollback.properties} at the root of the class path when there is one,
     * overridden by the environment.
     *
     * @throws EtlRollbackException with {@link ErrorCode#USAGE} naming the key for an unknown key or a bad value
     */
    public static RollbackConfig load() {
        ClassLoader loader = Thread.currentThread().getContextClassLoader();
        if (loader == null) {
            loader = RollbackConfig.class.getClassLoader();
        }
        Map<String, String> file = Map.of();
        String source = FILE_NAME + " (class path)";
        try (InputStream in = loader.getResourceAsStream(FILE_NAME)) {
            if (in != null) {
                file = read(in, source);
            }
        } catch (IOException e) {
            throw new EtlRollbackException(ErrorCode.USAGE, "configuration: cannot read " + source + ": "
                    + e.getMessage(), e);
        }
        return of(file, source, System.getenv());
    }

    /**
     * The defaults, overridden by the given properties file, overridden by the environment.
     *
     * @throws EtlRollbackException with {@link ErrorCode#USAGE} when the file cannot be read, or for an unknown key or
     *                              a bad value, naming the key
     */
    public static RollbackConfig load(Path file) {
        return load(file, System.getenv());
    }

    static RollbackConfig load(Path file, Map<String, String> environment) {
        Objects.requireNonNull(file, "file");
        if (!Files.isRegularFile(file)) {
            throw new EtlRollbackException(ErrorCode.USAGE, "configuration: " + file + " does not exist or is not a"
                    + " file; give the path of an etl-rollback.properties file");
        }
        try (InputStream in = Files.newInputStream(file)) {
            return of(read(in, file.toString()), file.toString(), environment);
        } catch (IOException e) {
            throw new EtlRollbackException(ErrorCode.USAGE, "configuration: cannot read " + file + ": "
                    + e.getMessage(), e);
        }
    }

    /** The defaults, overridden by {@code file} (read from {@code source}), overridden by {@code environment}. */
    static RollbackConfig of(Map<String, String> file, String source, Map<String, String> environment) {
        Map<String, Setting> settings = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : new TreeMap<>(file).entrySet()) {
            String key = e.getKey().strip();
            if (!KEYS.contains(key)) {
                throw usage("unknown key '" + key + "' in " + source + suggestion(key) + "; the keys are "
                        + String.join(", ", KEYS));
            }
            settings.put(key, new Setting(key, e.getValue().strip(), "in " + source));
        }
        for (String key : KEYS) {
            String variable = environmentVariable(key);
            String value = environment.get(variable);
            if (value != null && !value.isBlank()) {
                settings.put(key, new Setting(key, value.strip(), "from environment variable " + variable));
            }
        }
        RollbackConfig d = defaults();
        return new RollbackConfig(
                bool(settings.get("enabled"), d.enabled()),
                bool(settings.get("auto-rollback"), d.autoRollback()),
                bool(settings.get("verify"), d.verify()),
                policy(settings.get("on-conflict"), d.onConflict()),
                duration(settings.get("lock-timeout"), d.lockTimeout(), false),
                duration(settings.get("slow-rollback-warning"), d.slowRollbackWarning(), true),
                bool(settings.get("track-tables"), d.trackTables()),
                days(settings.get("keep-days"), d.keepDays()),
                directory(settings.get("archive.directory")),
                compression(settings.get("archive.compression"), d.archiveCompression()));
    }

    /** The environment variable that overrides a key, e.g. {@code ETL_ROLLBACK_AUTO_ROLLBACK} for auto-rollback. */
    static String environmentVariable(String key) {
        return ENVIRONMENT_PREFIX + key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
    }

    /** The options a rollback under this configuration runs with. */
    public RollbackOptions rollbackOptions() {
        return RollbackOptions.defaults().withVerify(verify).withOnConflict(onConflict).withLockTimeout(lockTimeout);
    }

    public RollbackConfig withEnabled(boolean value) {
        return new RollbackConfig(value, autoRollback, verify, onConflict, lockTimeout, slowRollbackWarning,
                trackTables, keepDays, archiveDirectory, archiveCompression);
    }

    public RollbackConfig withAutoRollback(boolean value) {
        return new RollbackConfig(enabled, value, verify, onConflict, lockTimeout, slowRollbackWarning,
                trackTables, keepDays, archiveDirectory, archiveCompression);
    }

    public RollbackConfig withVerify(boolean value) {
        return new RollbackConfig(enabled, autoRollback, value, onConflict, lockTimeout, slowRollbackWarning,
                trackTables, keepDays, archiveDirectory, archiveCompression);
    }

    public RollbackConfig withOnConflict(ConflictPolicy value) {
        return new RollbackConfig(enabled, autoRollback, verify, value, lockTimeout, slowRollbackWarning,
                trackTables, keepDays, archiveDirectory, archiveCompression);
    }

    public RollbackConfig withLockTimeout(Duration value) {
        return new RollbackConfig(enabled, autoRollback, verify, onConflict, value, slowRollbackWarning,
                trackTables, keepDays, archiveDirectory, archiveCompression);
    }

    public RollbackConfig withSlowRollbackWarning(Duration value) {
        return new RollbackConfig(enabled, autoRollback, verify, onConflict, lockTimeout, value,
                trackTables, keepDays, archiveDirectory, archiveCompression);
    }

    public RollbackConfig withTrackTables(boolean value) {
        return new RollbackConfig(enabled, autoRollback, verify, onConflict, lockTimeout, slowRollbackWarning,
                value, keepDays, archiveDirectory, archiveCompression);
    }

    public RollbackConfig withKeepDays(int value) {
        return new RollbackConfig(enabled, autoRollback, verify, onConflict, lockTimeout, slowRollbackWarning,
                trackTables, value, archiveDirectory, archiveCompression);
    }

    /** Archive to this directory before a cleanup deletes a log; null for no archive. */
    public RollbackConfig withArchiveDirectory(Path value) {
        return new RollbackConfig(enabled, autoRollback, verify, onConflict, lockTimeout, slowRollbackWarning,
                trackTables, keepDays, Optional.ofNullable(value), archiveCompression);
    }

    public RollbackConfig withArchiveCompression(ArchiveCompression value) {
        return new RollbackConfig(enabled, autoRollback, verify, onConflict, lockTimeout, slowRollbackWarning,
                trackTables, keepDays, archiveDirectory, value);
    }

    /** A value as found, with where it came from, for messages. */
    private record Setting(String key, String value, String origin) {
        EtlRollbackException bad(String what) {
            return usage(key + " = '" + value + "' " + origin + " " + what);
        }
    }

    private static Map<String, String> read(InputStream in, String source) throws IOException {
        Properties properties = new Properties();
        try (Reader reader = new java.io.InputStreamReader(in, StandardCharsets.UTF_8)) {
            properties.load(reader);
        } catch (IllegalArgumentException e) {
            throw usage(source + " is not a properties file: " + e.getMessage());
        }
        Map<String, String> map = new LinkedHashMap<>();
        properties.stringPropertyNames().forEach(k -> map.put(k, properties.getProperty(k)));
        return map;
    }

    private static boolean bool(Setting s, boolean fallback) {
        if (s == null) {
            return fallback;
        }
        return switch (s.value().toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw s.bad("is not a boolean: write true or false (default " + fallback + ")");
        };
    }

    private static ConflictPolicy policy(Setting s, ConflictPolicy fallback) {
        if (s == null) {
            return fallback;
        }
        for (ConflictPolicy p : ConflictPolicy.values()) {
            if (p.name().equalsIgnoreCase(s.value())) {
                return p;
            }
        }
        throw s.bad("is not a conflict policy: write abort, skip, cascade or force (default "
                + fallback.name().toLowerCase(Locale.ROOT) + ")");
    }

    private static Duration duration(Setting s, Duration fallback, boolean zeroAllowed) {
        if (s == null) {
            return fallback;
        }
        Duration d = null;
        Matcher m = SIMPLE_DURATION.matcher(s.value().toLowerCase(Locale.ROOT));
        try {
            if (m.matches()) {
                long n = Long.parseLong(m.group(1));
                d = switch (m.group(2)) {
                    case "ms" -> Duration.ofMillis(n);
                    case "s" -> Duration.ofSeconds(n);
                    case "m" -> Duration.ofMinutes(n);
                    case "h" -> Duration.ofHours(n);
                    default -> Duration.ofDays(n);
                };
            } else {
                d = Duration.parse(s.value().toUpperCase(Locale.ROOT));
            }
        } catch (DateTimeParseException | ArithmeticException | NumberFormatException e) {
            d = null;
        }
        if (d == null || d.isNegative() || (!zeroAllowed && d.isZero())) {
            throw s.bad("is not a " + (zeroAllowed ? "" : "positive ") + "duration: write e.g. 500ms, 10s, 5m, 1h or"
                    + " PT10S (default " + fallback.toSeconds() + "s)");
        }
        return d;
    }

    private static int days(Setting s, int fallback) {
        if (s == null) {
            return fallback;
        }
        try {
            int days = Integer.parseInt(s.value());
            if (days >= 0) {
                return days;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw s.bad("is not a number of days: write a whole number, 0 or more (default " + fallback + ")");
    }

    private static Optional<Path> directory(Setting s) {
        if (s == null || s.value().isEmpty()) {
            return Optional.empty();
        }
        try {
            Path path = Path.of(s.value());
            if (Files.exists(path) && !Files.isDirectory(path)) {
                throw s.bad("is a file, not a directory: name the directory archives go to (it is created when"
                        + " missing), or leave the key out for no archive");
            }
            return Optional.of(path);
        } catch (InvalidPathException e) {
            throw s.bad("is not a path: " + e.getReason());
        }
    }

    private static ArchiveCompression compression(Setting s, ArchiveCompression fallback) {
        if (s == null) {
            return fallback;
        }
        for (ArchiveCompression c : ArchiveCompression.values()) {
            if (c.name().equalsIgnoreCase(s.value())) {
                return c;
            }
        }
        throw s.bad("is not a compression: write gzip or none (default " + fallback.name().toLowerCase(Locale.ROOT)
                + ")");
    }

    /** ", did you mean auto-rollback?" for auto_rollback, autoRollback, AUTO-ROLLBACK and the like. */
    private static String suggestion(String key) {
        String normalized = normalize(key);
        return KEYS.stream().filter(k -> normalize(k).equals(normalized)).findFirst()
                .map(k -> " (did you mean " + k + "?)").orElse("");
    }

    private static String normalize(String key) {
        return key.toLowerCase(Locale.ROOT).replaceAll("[^a-z]", "");
    }

    private static EtlRollbackException usage(String message) {
        return new EtlRollbackException(ErrorCode.USAGE, "configuration: " + message);
    }
}
