package org.etlrollback.cli;

import java.util.List;
import java.util.concurrent.Callable;

import org.etlrollback.UntrackResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code etl-rollback untrack TABLE...}: stop logging tables. */
@Command(name = "untrack",
        mixinStandardHelpOptions = true,
        usageHelpWidth = 100,
        parameterListHeading = "%nArguments:%n",
        optionListHeading = "%nOptions:%n",
        description = {
            "Stop logging the changes of tables.",
            "Their logs are kept: migrations that changed them can still be inspected and rolled back. "
                    + "All tables are untracked, or none."
        },
        footerHeading = "%nExample:%n",
        footer = "  etl-rollback untrack public.orders")
final class UntrackCommand implements Callable<Integer> {
    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Parameters(arity = "1..*", paramLabel = "TABLE", description = "Tables to stop tracking, e.g. public.orders.")
    List<String> tables;

    @Override
    public Integer call() {
        UntrackResult result = main.etlRollback().untrack(tables.toArray(String[]::new));
        result.tables().forEach(table ->
                spec.commandLine().getOut().println("no longer tracking " + table + " (its log is kept)"));
        return 0;
    }
}
