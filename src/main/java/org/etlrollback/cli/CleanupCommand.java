package org.etlrollback.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import org.etlrollback.CleanupResult;
import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollbackException;
import org.etlrollback.transform.RollbackConfig;
import org.etlrollback.transform.Snapshots;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code etl-rollback cleanup --older-than DAYS}: delete the logs of old migrations. */
@Command(name = "cleanup",
        mixinStandardHelpOptions = true,
        usageHelpWidth = 100,
        optionListHeading = "%nOptions:%n",
        description = {
            "Delete the logs of the migrations whose last logged change or checkpoint is older than DAYS days: their "
                    + "log rows, statements, checkpoints and catalog rows, in one transaction. They can no longer be "
                    + "inspected or rolled back.",
            "A migration and its rollbacks (ID, rollback:ID, ...) are deleted together or kept together. A migration "
                    + "that an open transaction is still writing, or that a rollback is undoing, is kept; the output "
                    + "says which and why.",
            "Needs the rights of etl_rollback_admin. Exit codes: 0 done (also when nothing is old enough), 1 error "
                    + "(nothing deleted), 2 usage error (e.g. a negative age)."
        },
        footerHeading = "%nExamples:%n",
        footer = {
            "  etl-rollback cleanup --older-than 90 --dry-run",
            "  etl-rollback cleanup --older-than 90"
        })
final class CleanupCommand implements Callable<Integer> {
    private static final Pattern DAYS = Pattern.compile("\\d{1,9}");

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Option(names = "--older-than", paramLabel = "DAYS", required = true,
            description = "Delete the logs of migrations last active more than this many days ago (0 or more).")
    String olderThan;

    @Option(names = "--dry-run", description = "Report what would be deleted; delete nothing.")
    boolean dryRun;

    @Option(names = "--json", description = "Print the result as one JSON document.")
    boolean json;

    @Option(names = "--archive", paramLabel = "DIR",
            description = "Export each migration's log to DIR before deleting it (default: archive.directory of "
                    + "etl-rollback.properties or ETL_ROLLBACK_ARCHIVE_DIRECTORY, if set). A migration is deleted "
                    + "only once it is archived.")
    Path archive;

    @Override
    public Integer call() {
        int days = parseDays(olderThan);
        RollbackConfig config = RollbackConfig.load();
        if (archive != null) {
            config = config.withArchiveDirectory(archive);
        }
        CleanupResult result = config.archiveDirectory().isPresent() && !dryRun
                ? Snapshots.using(main.dataSource(), config).cleanupOldSnapshots(days)
                : main.etlRollback().cleanup(Duration.ofDays(days), dryRun);
        PrintWriter out = spec.commandLine().getOut();
        out.print(json ? json(result, days) : text(result, days));
        out.flush();
        return 0;
    }

    /** A whole number of days, 0 or more; anything else is a usage error that says what was given. */
    static int parseDays(String text) {
        String days = text.strip();
        if (DAYS.matcher(days).matches()) {
            return Integer.parseInt(days);
        }
        String problem;
        if (days.startsWith("-") && days.length() > 1 && days.substring(1).chars().allMatch(Character::isDigit)) {
            problem = "a negative age would delete the logs of migrations that have not happened yet";
        } else if (!days.isEmpty() && days.chars().allMatch(Character::isDigit)) {
            problem = "too many days: at most 999999999";
        } else {
            problem = "it is not a whole number of days";
        }
        throw new EtlRollbackException(ErrorCode.USAGE, "invalid --older-than '" + text + "': " + problem
                + "; give 0 or more days, e.g. --older-than 90");
    }

    static String text(CleanupResult r, int days) {
        StringBuilder s = new StringBuilder();
        String age = "last active more than " + TextFormat.count(days, "day", "days") + " ago (before "
                + TextFormat.time(r.cutoff()) + ")";
        if (r.deleted().isEmpty()) {
            s.append("nothing to delete: no migration was ").append(age).append('\n');
        } else {
            s.append(r.dryRun() ? "dry run: would delete the logs of " : "deleted the logs of ")
                    .append(TextFormat.count(r.deleted().size(), "migration", "migrations"))
                    .append(' ').append(age).append(": ")
                    .append(TextFormat.count(r.logRows(), "log row", "log rows"))
                    .append(r.dryRun() ? "; nothing was deleted\n" : "\n");
            int width = r.deleted().stream().mapToInt(d -> d.migrationId().length()).max().orElse(0);
            for (CleanupResult.Deleted d : r.deleted()) {
                s.append(String.format("  %-" + width + "s  last active %s  %s%n", d.migrationId(),
                        TextFormat.time(d.lastActivity()), TextFormat.count(d.logRows(), "log row", "log rows")));
            }
        }
        if (!r.kept().isEmpty()) {
            s.append("kept ").append(TextFormat.count(r.kept().size(), "migration", "migrations"))
                    .append(" as old as that, with the reason:\n");
            for (CleanupResult.Kept k : r.kept()) {
                s.append("  ").append(k.migrationId()).append("  last active ").append(TextFormat.time(k.lastActivity()))
                        .append(": ").append(k.reason()).append('\n');
            }
        }
        return s.toString();
    }

    static String json(CleanupResult r, int days) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("older_than_days", days);
        doc.put("cutoff", Json.time(r.cutoff()));
        doc.put("dry_run", r.dryRun());
        doc.put("migrations", r.deleted().size());
        doc.put("log_rows", r.logRows());
        doc.put("deleted", r.deleted().stream().map(d -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("migration_id", d.migrationId());
            m.put("last_activity", Json.time(d.lastActivity()));
            m.put("log_rows", d.logRows());
            return m;
        }).toList());
        doc.put("kept", r.kept().stream().map(k -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("migration_id", k.migrationId());
            m.put("last_activity", Json.time(k.lastActivity()));
            m.put("reason", k.reason());
            return m;
        }).toList());
        return Json.document(doc);
    }
}
