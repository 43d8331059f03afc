package org.etlrollback.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import javax.sql.DataSource;
import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollback;
import org.etlrollback.EtlRollbackException;
import org.etlrollback.internal.bench.Benchmark;
import org.etlrollback.internal.bench.BenchmarkReport;
import org.etlrollback.internal.bench.Chart;
import org.etlrollback.internal.database.EmbeddedServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code etl-rollback bench}: the standard benchmark, on the given database or an embedded one. */
@Command(name = "bench",
        mixinStandardHelpOptions = true,
        usageHelpWidth = 100,
        optionListHeading = "%nOptions:%n",
        description = {
            "Measure capture overhead and rollback speed with the standard workloads (W1 bulk, W2 row at a time, "
                    + "W3 selective), as ratios of timings taken side by side in one run. Every rollback is "
                    + "checked against the tables before the workload.",
            "With no database given, an embedded PostgreSQL is started for the run. On a given database it "
                    + "installs etl-rollback and works in its own schemas etl_rollback_bench_plain and "
                    + "etl_rollback_bench_tracked, which it drops at the end: use a scratch database."
        },
        footerHeading = "%nExamples:%n",
        footer = {
            "  etl-rollback bench --scale 0.1",
            "  etl-rollback --url jdbc:postgresql://localhost/scratch bench --scale 1.0 --json --chart bench.svg"
        })
final class BenchCommand implements Callable<Integer> {
    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Option(names = "--scale", paramLabel = "S", defaultValue = "1.0",
            description = "Size of the data and workloads: 1.0 is 500,000 customers and 1,000,000 orders.")
    double scale;

    @Option(names = "--repetitions", paramLabel = "N",
            description = "Repetitions per figure; the median is taken (default: 3 up to scale 0.3, else 1).")
    Integer repetitions;

    @Option(names = "--json", description = "Print the figures as one JSON document.")
    boolean json;

    @Option(names = "--chart", paramLabel = "FILE.svg", description = "Also draw the figures as an SVG chart.")
    Path chart;

    @Override
    public Integer call() {
        int reps = repetitions == null ? Benchmark.defaultRepetitions(scale) : repetitions;
        PrintWriter err = spec.commandLine().getErr();
        Optional<ConnectionOptions.Settings> given = main.connectionIfGiven();
        BenchmarkReport report;
        if (given.isPresent()) {
            report = run(Main.dataSource(given.get()), reps, err);
        } else {
            err.println("no database given: starting an embedded PostgreSQL");
            try (EmbeddedServer server = EmbeddedServer.start()) {
                report = run(server.dataSource(), reps, err);
            }
        }
        if (chart != null) {
            try {
                Files.writeString(chart, Chart.svg(report), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new EtlRollbackException(ErrorCode.FAILED, "could not write the chart " + chart + ": "
                        + e.getMessage(), e);
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        out.print(json ? json(report) : text(report));
        out.flush();
        return 0;
    }

    private BenchmarkReport run(DataSource dataSource, int reps, PrintWriter err) {
        EtlRollback.configure().dataSource(dataSource).load().install();
        return new Benchmark(dataSource, scale, reps, step -> {
            err.println("bench: " + step);
            err.flush();
        }).run();
    }

    static String text(BenchmarkReport report) {
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "scale %s, %d repetition(s), every rollback exact: %s%n", report.scale(),
                report.repetitions(), report.exact() ? "yes" : "NO"));
        s.append(String.format(Locale.ROOT, "%-45s %10s %10s%n", "figure", "value", "target"));
        for (BenchmarkReport.Figure f : report.figures()) {
            s.append(String.format(Locale.ROOT, "%-45s %10.2f %10.2f %s%n", f.label(), f.value(), f.target(),
                    f.met() ? "" : "missed"));
        }
        s.append(String.format(Locale.ROOT, "%-45s %10.1f%n", "log bytes per change", report.logBytesPerChange()));
        s.append(String.format(Locale.ROOT, "%-45s %10.2f%n", "snapshot restore / untracked W1",
                report.snapshotRestoreRatio()));
        s.append(String.format(Locale.ROOT, "%-45s %10.2f%n", "naive replay / untracked W1 (extrapolated)",
                report.naiveReplayRatio()));
        s.append("growth (microseconds per changed row):");
        report.growth().entrySet().stream().sorted(Map.Entry.comparingByKey())
                .forEach(e -> s.append(String.format(Locale.ROOT, " scale %s: %.2f;", e.getKey(), e.getValue())));
        s.append('\n');
        s.append("timings (ms, medians):");
        report.timingsMs().entrySet().stream().sorted(Map.Entry.comparingByKey())
                .forEach(e -> s.append(String.format(Locale.ROOT, " %s %.1f;", e.getKey(), e.getValue())));
        s.append('\n');
        return s.toString();
    }

    static String json(BenchmarkReport report) {
        try {
            return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(report.toJson())
                    + "\n";
        } catch (JsonProcessingException e) {
            throw new EtlRollbackException(ErrorCode.FAILED, "could not write the figures as JSON: " + e.getMessage(),
                    e);
        }
    }
}
