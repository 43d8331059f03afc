package org.etlrollback.cli;

import java.util.List;
import java.util.concurrent.Callable;

import org.etlrollback.TrackResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code etl-rollback track TABLE...}: start logging tables. */
@Command(name = "track",
        mixinStandardHelpOptions = true,
        usageHelpWidth = 100,
        parameterListHeading = "%nArguments:%n",
        optionListHeading = "%nOptions:%n",
        description = {
            "Start logging the changes of tables.",
            "From then on, every INSERT, UPDATE, DELETE, COPY and TRUNCATE on them made in a session that sets "
                    + "etl_rollback.migration_id is logged under that migration id. A table needs a primary key, or "
                    + "a unique key on non-null columns. Tracking a tracked table again brings its capture up to date "
                    + "(new columns, new partitions). All tables are tracked, or none."
        },
        footerHeading = "%nExample:%n",
        footer = "  etl-rollback track public.customers public.orders")
final class TrackCommand implements Callable<Integer> {
    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Parameters(arity = "1..*", paramLabel = "TABLE", description = "Tables to track, e.g. public.customers.")
    List<String> tables;

    @Override
    public Integer call() {
        TrackResult result = main.etlRollback().track(tables.toArray(String[]::new));
        result.tables().forEach(table -> spec.commandLine().getOut().println("tracking " + table));
        result.warnings().forEach(warning -> spec.commandLine().getOut().println("warning: " + warning));
        return 0;
    }
}
