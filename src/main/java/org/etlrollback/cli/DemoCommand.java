package org.etlrollback.cli;

import java.io.PrintWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import javax.sql.DataSource;
import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollback;
import org.etlrollback.EtlRollbackException;
import org.etlrollback.MigrationSummary;
import org.etlrollback.RollbackOptions;
import org.etlrollback.RollbackResult;
import org.etlrollback.internal.database.Database;
import org.etlrollback.internal.database.EmbeddedServer;
import org.etlrollback.internal.retention.Cleanup;
import org.postgresql.ds.PGSimpleDataSource;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code etl-rollback demo}: a small shop, a tagged ETL run, and its rollback, on an embedded PostgreSQL or on the
 * database given.
 */
@Command(name = "demo",
        mixinStandardHelpOptions = true,
        usageHelpWidth = 100,
        optionListHeading = "%nOptions:%n",
        description = {
            "Show etl-rollback at work: create a small shop (customers, and orders with a foreign key to them) in the "
                    + "schema " + DemoShop.SCHEMA + ", install etl-rollback, track both tables, run a nightly load "
                    + "tagged with a migration id (inserts, a bad update, deletes, a cascading delete), list and show "
                    + "it, roll it back with --verify, and compare the row counts and contents before and after.",
            "With no database given (no --url, ETL_ROLLBACK_URL, PGHOST, PGPORT or PGDATABASE) it starts an embedded "
                    + "PostgreSQL for the run and stops it at the end. Given a database, it runs there and then "
                    + "removes what it made: the schema " + DemoShop.SCHEMA + " and the demo's migrations in the log "
                    + "(etl-rollback itself stays installed).",
            "Exit codes: 0 the shop is back as it was, 1 error or a difference."
        },
        footerHeading = "%nExamples:%n",
        footer = {
            "  etl-rollback demo",
            "  etl-rollback --url jdbc:postgresql://localhost:5432/etl --user etl --password-file pw.txt demo"
        })
final class DemoCommand implements Callable<Integer> {
    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    private PrintWriter out;
    private PrintWriter err;

    @Override
    public Integer call() {
        out = spec.commandLine().getOut();
        err = spec.commandLine().getErr();
        Optional<ConnectionOptions.Settings> given = main.connectionIfGiven();
        if (given.isPresent()) {
            ConnectionOptions.Settings settings = given.get();
            PGSimpleDataSource dataSource = new PGSimpleDataSource();
            dataSource.setUrl(settings.url());
            dataSource.setUser(settings.user());
            dataSource.setPassword(settings.password());
            dataSource.setApplicationName("etl-rollback demo");
            return run(dataSource, Database.redact(settings.url()), false);
        }
        err.println("etl-rollback demo: no database given; starting an embedded PostgreSQL (a few seconds) ...");
        err.flush();
        try (EmbeddedServer server = EmbeddedServer.start()) {
            try {
                return run(server.dataSource(), "an embedded PostgreSQL", true);
            } finally {
                err.println("etl-rollback demo: stopping the embedded PostgreSQL");
                err.flush();
            }
        }
    }

    private int run(DataSource dataSource, String where, boolean embedded) {
        EtlRollback etlRollback = EtlRollback.configure().dataSource(dataSource).load();
        DemoShop shop = new DemoShop(dataSource);
        String migrationId = "demo_load_" + Instant.now().getEpochSecond();
        out.println("etl-rollback demo on " + where);
        section("1. etl-rollback install");
        out.println(InstallCommand.line(etlRollback.install()));
        shop.create();
        try {
            section("2. a small shop in the schema " + DemoShop.SCHEMA);
            DemoShop.Contents before = shop.contents();
            before.rows().forEach((table, rows) -> out.println(table + ": " + TextFormat.count(rows, "row", "rows")));
            out.println("(orders.customer_id references customers ON DELETE CASCADE)");

            section("3. etl-rollback track " + String.join(" ", DemoShop.TABLES));
            etlRollback.track(DemoShop.TABLES.toArray(String[]::new)).tables()
                    .forEach(table -> out.println("tracking " + table));

            section("4. the nightly load, in a session that ran SET etl_rollback.migration_id = '" + migrationId + "'");
            shop.nightlyLoad(migrationId, "nightly shop load (demo)");
            DemoShop.Contents afterLoad = shop.contents();
            out.println("added 2 customers and 4 orders; multiplied the paid orders' amounts by 100 (the bug);");
            out.println("upper-cased the US customers' e-mails; purged the cancelled orders; deleted customer 3,");
            out.println("and with it, by the foreign key's cascade, its orders");

            section("5. etl-rollback list");
            out.print(ListCommand.text(etlRollback.list().stream()
                    .filter(m -> m.migrationId().equals(migrationId)).toList()));

            section("6. etl-rollback show " + migrationId);
            out.print(ShowCommand.text(etlRollback.show(migrationId)));

            section("7. etl-rollback rollback " + migrationId + " --verify");
            RollbackResult result = etlRollback.rollback(migrationId, RollbackOptions.defaults().withVerify(true));
            out.print(RollbackCommand.text(result));

            section("8. row counts");
            DemoShop.Contents after = shop.contents();
            out.print(counts(before, afterLoad, after));
            boolean same = after.equals(before);
            out.println("every row is back as it was before the load: " + (same ? "yes" : "NO"));
            out.flush();
            if (!same) {
                err.println("etl-rollback demo: the shop differs from before the load after the rollback");
                return ErrorCode.FAILED.exitCode();
            }
            out.println();
            if (embedded) {
                out.println("Next: the same on a database of yours (it works in the schema " + DemoShop.SCHEMA
                        + " and removes it):");
                out.println("  etl-rollback --url jdbc:postgresql://HOST:PORT/DATABASE --user USER demo");
            } else {
                out.println("Next: track your own tables (etl-rollback track SCHEMA.TABLE), run your ETL in a session "
                        + "that sets etl_rollback.migration_id, and try etl-rollback rollback ID --dry-run.");
            }
            return 0;
        } finally {
            out.flush();
            if (!embedded) {
                removeDemo(etlRollback, shop, dataSource, where, migrationId);
            }
        }
    }

    /** On a database of the user's: untrack the tables, delete the demo's migrations' logs, drop the schema. */
    private void removeDemo(EtlRollback etlRollback, DemoShop shop, DataSource dataSource, String where,
                            String migrationId) {
        List<String> done = new ArrayList<>();
        try {
            etlRollback.untrack(DemoShop.TABLES.toArray(String[]::new));
            done.add("untracked its tables");
            List<String> ids = etlRollback.list().stream().map(MigrationSummary::migrationId)
                    .filter(id -> id.equals(migrationId) || id.startsWith("rollback:" + migrationId))
                    .sorted()
                    .toList();
            if (!ids.isEmpty()) {
                new Cleanup(new Database(dataSource, where)).migrations(ids);
                done.add("deleted the log of " + String.join(" and ", ids));
            }
        } catch (EtlRollbackException e) {
            err.println("etl-rollback demo: could not remove the demo's log entirely: " + e.getMessage());
        } finally {
            shop.drop();
            done.add("dropped the schema " + DemoShop.SCHEMA);
            err.println("etl-rollback demo: removed the demo: " + String.join(", ", done));
            err.flush();
        }
    }

    private static String counts(DemoShop.Contents before, DemoShop.Contents afterLoad, DemoShop.Contents after) {
        int width = DemoShop.TABLES.stream().mapToInt(String::length).max().orElse(5);
        String row = "%-" + width + "s  %10s  %10s  %14s%n";
        StringBuilder s = new StringBuilder(String.format(row, "table", "before", "after load", "after rollback"));
        for (String table : DemoShop.TABLES) {
            s.append(String.format(row, table, before.rows().get(table), afterLoad.rows().get(table),
                    after.rows().get(table)));
        }
        return s.toString();
    }

    private void section(String title) {
        out.println();
        out.println("== " + title);
    }
}
