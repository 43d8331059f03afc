package org.etlrollback.cli;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.etlrollback.MigrationDetail;
import org.etlrollback.MigrationDetail.Checkpoint;
import org.etlrollback.MigrationDetail.TableChanges;
import org.etlrollback.MigrationSummary;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code etl-rollback show ID}: one migration, per table and checkpoint. */
@Command(name = "show",
        mixinStandardHelpOptions = true,
        usageHelpWidth = 100,
        parameterListHeading = "%nArguments:%n",
        optionListHeading = "%nOptions:%n",
        description = {
            "Show one migration: its status; per table the rows it inserted, updated, deleted and truncated, and the "
                    + "size of its rows in the table's log and of the whole log table; its checkpoints; its "
                    + "rollbacks, or the migration it rolled back.",
            "Needs the rights of etl_rollback_admin, since it reads the log. Exit codes: 0 done, 1 unknown migration "
                    + "id or error, 2 usage error."
        },
        footerHeading = "%nExamples:%n",
        footer = {
            "  etl-rollback show load_2026_11",
            "  etl-rollback show rollback:load_2026_11 --json"
        })
final class ShowCommand implements Callable<Integer> {
    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "ID", description = "The migration id, as 'list' shows it.")
    String migrationId;

    @Option(names = "--json", description = "Print the migration as one JSON document.")
    boolean json;

    @Override
    public Integer call() {
        MigrationDetail detail = main.etlRollback().show(migrationId);
        PrintWriter out = spec.commandLine().getOut();
        out.print(json ? json(detail) : text(detail));
        out.flush();
        return 0;
    }

    static String text(MigrationDetail d) {
        MigrationSummary m = d.summary();
        StringBuilder s = new StringBuilder();
        String line = "%-12s %s%n";
        s.append(String.format(line, "migration", m.migrationId()));
        m.name().ifPresent(name -> s.append(String.format(line, "name", name)));
        s.append(String.format(line, "status", m.status().label()));
        s.append(String.format(line, "started", TextFormat.time(m.startedAt()) + " by " + d.startedBy()));
        s.append(String.format(line, "last change", TextFormat.time(m.lastChangeAt())));
        if (!d.rollbacks().isEmpty()) {
            s.append(String.format(line, "rolled back", TextFormat.time(d.rolledBackAt()) + " by "
                    + String.join(", ", d.rollbacks())));
        }
        d.rollbackOf().ifPresent(of -> s.append(String.format(line, "rollback of", of)));
        s.append(String.format(line, "row changes", m.rowChanges() + " in "
                + TextFormat.count(d.tables().size(), "table", "tables")));
        s.append(String.format(line, "log size", TextFormat.bytes(d.logBytes())));
        if (!d.tables().isEmpty()) {
            int width = Math.max("table".length(), d.tables().stream().mapToInt(t -> t.table().length()).max()
                    .orElse(0));
            String row = "%-" + width + "s  %9s  %9s  %9s  %9s  %12s  %12s%n";
            s.append('\n').append(String.format(row, "table", "inserts", "updates", "deletes", "truncates",
                    "log rows", "log table"));
            for (TableChanges t : d.tables()) {
                s.append(String.format(row, t.table(), t.inserts(), t.updates(), t.deletes(), t.truncates(),
                        TextFormat.bytes(t.logBytes()), TextFormat.bytes(t.logTableBytes())));
            }
        }
        s.append('\n');
        if (d.checkpoints().isEmpty()) {
            s.append("checkpoints: none\n");
        } else {
            s.append("checkpoints:\n");
            int width = d.checkpoints().stream().mapToInt(c -> c.name().length()).max().orElse(0);
            for (Checkpoint c : d.checkpoints()) {
                s.append(String.format("  %-" + width + "s  %s  seq %d%n", c.name(), TextFormat.time(c.createdAt()),
                        c.seq()));
            }
        }
        return s.toString();
    }

    static String json(MigrationDetail d) {
        Map<String, Object> doc = ListCommand.fields(d.summary());
        doc.put("started_by", d.startedBy());
        doc.put("rolled_back_at", Json.time(d.rolledBackAt()));
        doc.put("rollback_of", d.rollbackOf().orElse(null));
        doc.put("rollbacks", d.rollbacks());
        doc.put("log_bytes", d.logBytes());
        doc.put("table_changes", d.tables().stream().map(t -> {
            Map<String, Object> table = new LinkedHashMap<>();
            table.put("table", t.table());
            table.put("inserts", t.inserts());
            table.put("updates", t.updates());
            table.put("deletes", t.deletes());
            table.put("truncates", t.truncates());
            table.put("log_bytes", t.logBytes());
            table.put("log_table_bytes", t.logTableBytes());
            return table;
        }).toList());
        doc.put("checkpoints", d.checkpoints().stream().map(c -> {
            Map<String, Object> checkpoint = new LinkedHashMap<>();
            checkpoint.put("name", c.name());
            checkpoint.put("seq", c.seq());
            checkpoint.put("created_at", Json.time(c.createdAt()));
            return checkpoint;
        }).toList());
        return Json.document(doc);
    }
}
