package org.etlrollback.cli;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.etlrollback.MigrationSummary;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code etl-rollback list}: the migrations in the log, newest first. */
@Command(name = "list",
        mixinStandardHelpOptions = true,
        usageHelpWidth = 100,
        optionListHeading = "%nOptions:%n",
        description = {
            "List the migrations in the log, newest first (by their first logged change): id, status (active, "
                    + "rolled_back, partially_rolled_back), when it started and last changed a row, how many row "
                    + "changes it logged, and the tables it changed. A rollback is listed as the migration rollback:ID.",
            "Needs the rights of etl_rollback_viewer. Exit codes: 0 done (also when the log is empty), 1 error."
        },
        footerHeading = "%nExamples:%n",
        footer = {
            "  etl-rollback list",
            "  etl-rollback list --json | jq -r '.migrations[] | select(.status == \"active\") | .migration_id'"
        })
final class ListCommand implements Callable<Integer> {
    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Option(names = "--json", description = "Print the migrations as one JSON document.")
    boolean json;

    @Override
    public Integer call() {
        List<MigrationSummary> migrations = main.etlRollback().list();
        PrintWriter out = spec.commandLine().getOut();
        out.print(json ? json(migrations) : text(migrations));
        out.flush();
        return 0;
    }

    static String text(List<MigrationSummary> migrations) {
        if (migrations.isEmpty()) {
            return "no migrations in the log\n";
        }
        return table(migrations, false);
    }

    /**
     * The migrations as a table with a header line; numbered from 1 (the newest) when {@code numbered}, as
     * {@code interactive} lists them.
     */
    static String table(List<MigrationSummary> migrations, boolean numbered) {
        int idWidth = Math.max("migration".length(),
                migrations.stream().mapToInt(m -> m.migrationId().length()).max().orElse(0));
        int numberWidth = String.valueOf(migrations.size()).length();
        String format = (numbered ? "%" + numberWidth + "s  " : "%s")
                + "%-" + idWidth + "s  %-21s  %-25s  %-25s  %11s  %s%n";
        StringBuilder s = new StringBuilder();
        s.append(String.format(format, numbered ? "#" : "", "migration", "status", "started", "last change",
                "row changes", "tables"));
        int n = 0;
        for (MigrationSummary m : migrations) {
            n++;
            s.append(String.format(format, numbered ? String.valueOf(n) : "", m.migrationId(), m.status().label(),
                    TextFormat.time(m.startedAt()), TextFormat.time(m.lastChangeAt()), m.rowChanges(),
                    String.join(", ", m.tables())));
        }
        return s.toString();
    }

    static String json(List<MigrationSummary> migrations) {
        return Json.document(Map.of("migrations", migrations.stream().map(ListCommand::fields).toList()));
    }

    /** The fields of a migration as {@code list --json} and {@code show --json} write them. */
    static Map<String, Object> fields(MigrationSummary m) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("migration_id", m.migrationId());
        doc.put("name", m.name().orElse(null));
        doc.put("status", m.status().label());
        doc.put("started_at", Json.time(m.startedAt()));
        doc.put("last_change_at", Json.time(m.lastChangeAt()));
        doc.put("tables", m.tables());
        doc.put("row_changes", m.rowChanges());
        return doc;
    }
}
