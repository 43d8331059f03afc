package org.etlrollback.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.etlrollback.ConflictException;
import org.etlrollback.ConflictPolicy;
import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollback;
import org.etlrollback.EtlRollbackException;
import org.etlrollback.MigrationSummary;
import org.etlrollback.RollbackOptions;
import org.etlrollback.RollbackResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code etl-rollback interactive}: pick a migration from a numbered list, see the plan, confirm, roll back. */
@Command(name = "interactive",
        mixinStandardHelpOptions = true,
        usageHelpWidth = 100,
        optionListHeading = "%nOptions:%n",
        description = {
            "List the migrations, newest first and numbered from 1; pick one by its number or its id; see the plan of "
                    + "its rollback (a dry run); confirm with y or yes, and it is rolled back. Any other answer, an "
                    + "empty line or the end of the input cancels, changing nothing.",
            "Reads the answers from standard input, one per line, so it can be driven by a pipe. The list, the plan "
                    + "and the outcome go to stdout, the questions to stderr.",
            "Exit codes: 0 rolled back, already rolled back, or cancelled; 1 error; 2 usage error (no valid pick "
                    + "after " + InteractiveCommand.ATTEMPTS + " answers); 3 refused because of conflicts."
        },
        footerHeading = "%nExamples:%n",
        footer = {
            "  etl-rollback interactive",
            "  printf '1\\nyes\\n' | etl-rollback interactive --verify"
        })
final class InteractiveCommand implements Callable<Integer> {
    /** How many answers that pick nothing are accepted before giving up. */
    static final int ATTEMPTS = 3;

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Option(names = "--verify", description = "Check every restored row against its before-image before commit.")
    boolean verify;

    @Option(names = "--on-conflict", paramLabel = "POLICY", defaultValue = "abort",
            description = "abort (default), skip, cascade or force: what to do with rows changed after the migration.")
    String onConflict;

    @Option(names = "--limit", paramLabel = "N", defaultValue = "20",
            description = "List at most this many of the newest migrations (default 20); an older one can still be "
                    + "picked by its id.")
    int limit;

    private BufferedReader input;
    private PrintWriter out;
    private PrintWriter err;

    @Override
    public Integer call() {
        if (limit < 1) {
            throw new EtlRollbackException(ErrorCode.USAGE, "invalid --limit " + limit + ": list at least 1 migration");
        }
        ConflictPolicy policy = ConflictPolicy.parse(onConflict);
        input = new BufferedReader(new InputStreamReader(main.in(), StandardCharsets.UTF_8));
        out = spec.commandLine().getOut();
        err = spec.commandLine().getErr();
        EtlRollback etlRollback = main.etlRollback();

        List<MigrationSummary> migrations = etlRollback.list();
        if (migrations.isEmpty()) {
            out.println("no migrations in the log: nothing to roll back");
            return 0;
        }
        List<MigrationSummary> shown = migrations.subList(0, Math.min(limit, migrations.size()));
        out.print(ListCommand.table(shown, true));
        if (shown.size() < migrations.size()) {
            out.println("(" + (migrations.size() - shown.size()) + " older not listed; pick one by its id)");
        }
        out.flush();

        Optional<MigrationSummary> picked = pick(migrations, shown.size());
        if (picked.isEmpty()) {
            return cancelled();
        }
        String id = picked.get().migrationId();
        RollbackOptions options = RollbackOptions.defaults().withOnConflict(policy).withVerify(verify);
        RollbackResult plan = etlRollback.rollback(id, options.withDryRun(true));
        out.println();
        out.print(RollbackCommand.text(plan));
        out.flush();
        if (plan.outcome() == RollbackResult.Outcome.ALREADY_ROLLED_BACK) {
            return 0;
        }
        if (plan.conflictCount() > 0 && policy == ConflictPolicy.ABORT) {
            err.println("etl-rollback: the rollback of " + id + " would be refused: "
                    + TextFormat.count(plan.conflictCount(), "row was", "rows were")
                    + " changed after it. Nothing was changed. Run again with --on-conflict skip, cascade or force.");
            return ErrorCode.CONFLICT.exitCode();
        }
        Optional<String> answer = ask("Roll back " + id + " as planned above? [y/N] ");
        if (answer.isEmpty() || !isYes(answer.get())) {
            return cancelled();
        }
        RollbackResult result;
        int exitCode = 0;
        try {
            result = etlRollback.rollback(id, options.withProgress(RollbackCommand.progress(err)));
        } catch (ConflictException e) {
            result = e.result();
            err.println("etl-rollback: " + e.getMessage());
            exitCode = ErrorCode.CONFLICT.exitCode();
        }
        out.println();
        out.print(RollbackCommand.text(result));
        out.flush();
        return exitCode;
    }

    /** Asks until an answer picks a migration; empty when the user cancels or the input ends. */
    private Optional<MigrationSummary> pick(List<MigrationSummary> migrations, int shown) {
        for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
            Optional<String> answer = ask("Roll back which migration? Its number (1-" + shown
                    + ") or id; empty to cancel: ");
            if (answer.isEmpty() || answer.get().isEmpty()) {
                return Optional.empty();
            }
            Optional<MigrationSummary> picked = choose(answer.get(), migrations, shown);
            if (picked.isPresent()) {
                return picked;
            }
            err.println("etl-rollback: no migration has the number or id '" + answer.get() + "'; give a number from 1 to "
                    + shown + ", or an id as listed");
        }
        throw new EtlRollbackException(ErrorCode.USAGE, "no migration picked after " + ATTEMPTS + " answers;"
                + " nothing was changed");
    }

    /**
     * The migration an answer names: a number from 1 to {@code shown} picks from the list (1 is the newest); anything
     * else must be a migration id.
     */
    static Optional<MigrationSummary> choose(String answer, List<MigrationSummary> migrations, int shown) {
        if (answer.matches("\\d{1,9}")) {
            int number = Integer.parseInt(answer);
            if (number >= 1 && number <= shown) {
                return Optional.of(migrations.get(number - 1));
            }
        }
        return migrations.stream().filter(m -> m.migrationId().equals(answer)).findFirst();
    }

    /** Whether an answer confirms: {@code y} or {@code yes}, in any case. */
    static boolean isYes(String answer) {
        String a = answer.toLowerCase(Locale.ROOT);
        return a.equals("y") || a.equals("yes");
    }

    /**
     * Prints the question on stderr and reads one line, stripped; empty at the end of the input. The question ends
     * its line only once answered: at a terminal by the user's Enter, from a pipe by the answer repeated.
     */
    private Optional<String> ask(String question) {
        err.print(question);
        err.flush();
        try {
            String line = input.readLine();
            if (System.console() == null) {
                // read from a pipe: the answer was not echoed, so the transcript on stderr shows it
                err.println(line == null ? "" : line);
            }
            if (line == null) {
                return Optional.empty();
            }
            return Optional.of(line.strip());
        } catch (IOException e) {
            throw new EtlRollbackException(ErrorCode.FAILED, "cannot read the answer from standard input: "
                    + e.getMessage() + "; nothing was changed", e);
        }
    }

    private int cancelled() {
        out.println("cancelled: nothing was changed");
        out.flush();
        return 0;
    }
}
