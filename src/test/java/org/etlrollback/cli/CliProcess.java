package org.etlrollback.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs the packaged command line, {@code java -jar target/etl-rollback.jar}, as a separate process
 * with a controlled environment: none of the ETL_ROLLBACK_* or PG* variables of the machine, only
 * those given.
 */
public final class CliProcess {
    private CliProcess() {
    }

    /** How a run ended. */
    public record Outcome(int exitCode, String out, String err) {
        /** Everything the process printed. */
        public String all() {
            return out + err;
        }

        @Override
        public String toString() {
            return "exit code " + exitCode + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    /** The jar under test; failsafe passes its path as etlrollback.jar. */
    public static Path jar() {
        Path jar = Path.of(System.getProperty("etlrollback.jar", "target/etl-rollback.jar"));
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(jar + " does not exist; run the tests with mvn verify, which packages it first");
        }
        return jar;
    }

    public static Outcome run(Map<String, String> env, String... args) {
        return withInput(env, "", args);
    }

    /** Runs the command line with {@code input} on its standard input, which then ends. */
    public static Outcome withInput(Map<String, String> env, String input, String... args) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        // short-lived JVMs: skip the optimizing compiler, as most command-line tools would
        command.add("-XX:TieredStopAtLevel=1");
        command.add("-XX:+UseSerialGC");
        command.add("-jar");
        command.add(jar().toString());
        command.addAll(List.of(args));
        try {
            Path out = Files.createTempFile("etl-rollback-out", ".txt");
            Path err = Files.createTempFile("etl-rollback-err", ".txt");
            try {
                ProcessBuilder builder = new ProcessBuilder(command)
                        .redirectOutput(out.toFile())
                        .redirectError(err.toFile())
                        .redirectInput(ProcessBuilder.Redirect.PIPE);
                builder.environment().keySet().removeIf(name -> name.startsWith("ETL_ROLLBACK_") || name.startsWith("PG"));
                builder.environment().putAll(env);
                Process process = builder.start();
                try (var stdin = process.getOutputStream()) {
                    stdin.write(input.getBytes(StandardCharsets.UTF_8));
                } catch (IOException e) {
                    // the process ended without reading all of its input; its outcome says why
                }
                if (!process.waitFor(120, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    throw new IllegalStateException("etl-rollback " + String.join(" ", args) + " did not end");
                }
                return new Outcome(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                        Files.readString(err, StandardCharsets.UTF_8));
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + command + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + command, e);
        }
    }
}
