package org.etlrollback.cli;

import java.util.concurrent.Callable;

import org.etlrollback.InstallResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code etl-rollback install}: install or upgrade the etl_rollback schema. */
@Command(name = "install",
        mixinStandardHelpOptions = true,
        usageHelpWidth = 100,
        optionListHeading = "%nOptions:%n",
        description = {
            "Install or upgrade the etl_rollback schema.",
            "Harmless to run again: an up-to-date schema is left as it is. Everything goes into the schema "
                    + "etl_rollback, with its own Flyway history table there; the application's own Flyway history "
                    + "is never touched. The first install creates the roles etl_rollback_admin and "
                    + "etl_rollback_viewer, which needs a user that may create roles."
        },
        footerHeading = "%nExample:%n",
        footer = "  etl-rollback --url jdbc:postgresql://localhost:5432/shop --user postgres install")
final class InstallCommand implements Callable<Integer> {
    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().getOut().println(line(main.etlRollback().install()));
        return 0;
    }

    /** What an install did, in one line. */
    static String line(InstallResult result) {
        String line;
        if (result.upToDate()) {
            line = "etl-rollback schema version " + result.schemaVersion() + " is up to date; nothing to do";
        } else if (result.freshInstall()) {
            line = "installed etl-rollback schema version " + result.schemaVersion() + " (" + scripts(result) + ")";
        } else if (result.schemaVersion().equals(result.previousSchemaVersion())) {
            line = "updated etl-rollback schema version " + result.schemaVersion() + " (" + scripts(result) + ")";
        } else {
            line = "upgraded etl-rollback schema from version " + result.previousSchemaVersion() + " to "
                    + result.schemaVersion() + " (" + scripts(result) + ")";
        }
        return line;
    }

    private static String scripts(InstallResult result) {
        return result.scriptsApplied() + (result.scriptsApplied() == 1 ? " script" : " scripts") + " applied";
    }
}
