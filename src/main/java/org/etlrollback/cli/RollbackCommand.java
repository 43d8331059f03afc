package org.etlrollback.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.etlrollback.Conflict;
import org.etlrollback.ConflictException;
import org.etlrollback.ConflictPolicy;
import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollbackException;
import org.etlrollback.RollbackOptions;
import org.etlrollback.RollbackProgress;
import org.etlrollback.RollbackResult;
import org.etlrollback.TableRollback;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code etl-rollback rollback ID}: undo one migration's row changes. */
@Command(name = "rollback",
        mixinStandardHelpOptions = true,
        usageHelpWidth = 100,
        parameterListHeading = "%nArguments:%n",
        optionListHeading = "%nOptions:%n",
        description = {
            "Undo one migration: every row it changed returns to the state it had just before the migration first "
                    + "changed it; every other row stays. One transaction: all or nothing. The rollback is itself "
                    + "logged as migration rollback:ID, which can be rolled back in turn.",
            "Exit codes: 0 done (also: already rolled back), 1 error (nothing changed), 2 usage error, "
                    + "3 refused because rows were changed after the migration (nothing changed)."
        },
        footerHeading = "%nExamples:%n",
        footer = {
            "  etl-rollback rollback load_2026_11 --dry-run",
            "  etl-rollback rollback load_2026_11 --verify --on-conflict skip",
            "  etl-rollback rollback load_2026_11 --to-checkpoint orders_loaded --sql undo.sql --dry-run"
        })
final class RollbackCommand implements Callable<Integer> {
    private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m|h)?");

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "ID", description = "The migration id to roll back.")
    String migrationId;

    @Option(names = "--dry-run", description = "Plan and report; change nothing.")
    boolean dryRun;

    @Option(names = "--verify", description = "Check every restored row against its before-image before commit.")
    boolean verify;

    @Option(names = "--on-conflict", paramLabel = "POLICY", defaultValue = "abort",
            description = "abort (default), skip, cascade or force: what to do with rows changed after the migration.")
    String onConflict;

    @Option(names = "--to-checkpoint", paramLabel = "NAME",
            description = "Undo only what the migration changed after this checkpoint.")
    String toCheckpoint;

    @Option(names = "--sql", paramLabel = "FILE", description = "Also write the rollback as a SQL script for psql.")
    Path sqlFile;

    @Option(names = "--lock-timeout", paramLabel = "DURATION", defaultValue = "10s",
            description = "How long to wait for the table locks: 500ms, 10s, 2m (default 10s).")
    String lockTimeout;

    @Option(names = "--json", description = "Print the result as one JSON document.")
    boolean json;

    @Override
    public Integer call() {
        RollbackOptions options = RollbackOptions.defaults()
                .withDryRun(dryRun)
                .withVerify(verify)
                .withOnConflict(ConflictPolicy.parse(onConflict))
                .withToCheckpoint(toCheckpoint)
                .withSqlFile(sqlFile)
                .withLockTimeout(parseDuration(lockTimeout))
                .withProgress(progress(spec.commandLine().getErr()));
        RollbackResult result;
        int exitCode = 0;
        try {
            result = main.etlRollback().rollback(migrationId, options);
        } catch (ConflictException e) {
            result = e.result();
            spec.commandLine().getErr().println("etl-rollback: " + e.getMessage());
            exitCode = ErrorCode.CONFLICT.exitCode();
        }
        PrintWriter out = spec.commandLine().getOut();
        out.print(json ? json(result) : text(result));
        out.flush();
        return exitCode;
    }

    /** A bar on stderr when it is a terminal; nothing otherwise. */
    static RollbackProgress progress(PrintWriter err) {
        if (System.console() == null) {
            return RollbackProgress.NONE;
        }
        return (step, done, planned) -> {
            int width = 30;
            int filled = planned == 0 ? width : (int) (width * done / planned);
            err.printf("\r[%s%s] %,d / %,d rows  %-40s", "#".repeat(filled), " ".repeat(width - filled), done,
                    planned, step);
            if (done >= planned) {
                err.println();
            }
            err.flush();
        };
    }

    static Duration parseDuration(String text) {
        Matcher m = DURATION.matcher(text.trim().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new EtlRollbackException(ErrorCode.USAGE,
                    "invalid --lock-timeout '" + text + "': use a number with ms, s, m or h, e.g. 10s");
        }
        long amount = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2);
        Duration d = switch (unit) {
            case "ms" -> Duration.ofMillis(amount);
            case "m" -> Duration.ofMinutes(amount);
            case "h" -> Duration.ofHours(amount);
            default -> Duration.ofSeconds(amount);
        };
        if (d.isZero()) {
            throw new EtlRollbackException(ErrorCode.USAGE, "invalid --lock-timeout '" + text + "': must be positive");
        }
        if (d.compareTo(RollbackOptions.MAX_LOCK_TIMEOUT) > 0) {
            throw new EtlRollbackException(ErrorCode.USAGE, "invalid --lock-timeout '" + text + "': at most "
                    + RollbackOptions.MAX_LOCK_TIMEOUT.toHours() + "h");
        }
        return d;
    }

    static String text(RollbackResult r) {
        StringBuilder s = new StringBuilder();
        String what = switch (r.outcome()) {
            case ROLLED_BACK -> "rolled back " + r.migrationId() + " as " + r.rollbackId();
            case PARTIALLY_ROLLED_BACK -> "partially rolled back " + r.migrationId() + " as " + r.rollbackId();
            case ALREADY_ROLLED_BACK -> r.migrationId() + " is already rolled back: nothing to do";
            case DRY_RUN -> "dry run of the rollback of " + r.migrationId() + ": nothing was changed";
            case REFUSED -> "rollback of " + r.migrationId() + " refused: nothing was changed";
        };
        s.append(what).append('\n');
        if (!r.tables().isEmpty()) {
            int width = Math.max(5, r.tables().stream().mapToInt(t -> t.table().length()).max().orElse(5));
            s.append(String.format("%-" + width + "s %10s %10s %10s %10s %10s%n", "table", "deleted", "updated",
                    "inserted", "unchanged", "conflicts"));
            for (TableRollback t : r.tables()) {
                s.append(String.format("%-" + width + "s %10d %10d %10d %10d %10d%n", t.table(), t.deleted(),
                        t.updated(), t.inserted(), t.unchanged(), t.conflicts()));
            }
        }
        if (!r.cascaded().isEmpty()) {
            s.append(r.outcome() == RollbackResult.Outcome.DRY_RUN ? "would roll back first (cascade): "
                    : "rolled back first (cascade): ").append(String.join(", ", r.cascaded())).append('\n');
        }
        if (r.conflictCount() > 0) {
            s.append(r.conflictCount()).append(" conflict(s)");
            if (r.conflictCount() > r.conflicts().size()) {
                s.append(", the first ").append(r.conflicts().size()).append(" listed");
            }
            s.append(":\n");
            for (Conflict c : r.conflicts()) {
                s.append("  ").append(c.table()).append(' ').append(c.key()).append(" changed later by ")
                        .append(c.changedBy()).append('\n');
            }
        }
        if (r.replayed()) {
            s.append("no set-based order satisfied the constraints: statements were replayed one by one\n");
        }
        if (r.verified()) {
            s.append("verified: every restored row equals its before-image\n");
        }
        r.warnings().forEach(w -> s.append("warning: ").append(w).append('\n'));
        boolean changed = r.outcome() == RollbackResult.Outcome.ROLLED_BACK
                || r.outcome() == RollbackResult.Outcome.PARTIALLY_ROLLED_BACK;
        s.append(String.format(Locale.ROOT, "%d row(s) %s in %.3f s%n", r.rowsRestored(),
                changed ? "restored" : "to restore", r.duration().toMillis() / 1000.0));
        return s.toString();
    }

    static String json(RollbackResult r) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("migration_id", r.migrationId());
        doc.put("rollback_id", r.rollbackId().isEmpty() ? null : r.rollbackId());
        doc.put("outcome", r.outcome().name().toLowerCase(Locale.ROOT));
        doc.put("tables", r.tables().stream().map(t -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("table", t.table());
            m.put("deleted", t.deleted());
            m.put("updated", t.updated());
            m.put("inserted", t.inserted());
            m.put("unchanged", t.unchanged());
            m.put("conflicts", t.conflicts());
            return m;
        }).toList());
        doc.put("conflict_count", r.conflictCount());
        doc.put("conflicts", r.conflicts().stream().map(c -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("table", c.table());
            m.put("key", c.key());
            m.put("later_migrations", c.laterMigrations());
            m.put("untagged", c.untagged());
            return m;
        }).toList());
        doc.put("cascaded", r.cascaded());
        doc.put("rows_restored", r.rowsRestored());
        doc.put("method", r.method().name().toLowerCase(Locale.ROOT));
        doc.put("replayed", r.replayed());
        doc.put("verified", r.verified());
        doc.put("warnings", r.warnings());
        doc.put("duration_ms", r.duration().toMillis());
        return Json.document(doc);
    }
}
