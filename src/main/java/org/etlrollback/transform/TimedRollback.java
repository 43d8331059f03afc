package org.etlrollback.transform;

import java.time.Duration;
import org.etlrollback.Reverser;
import org.etlrollback.RollbackOptions;
import org.etlrollback.RollbackResult;
import org.slf4j.Logger;

/** A rollback, timed: logged with its duration, and as a warning when it took longer than the configured limit. */
final class TimedRollback {
    private TimedRollback() {
    }

    static RollbackResult run(Reverser reverser, String migrationId, RollbackOptions options, Duration slowWarning,
                              Logger log) {
        long started = System.nanoTime();
        RollbackResult result = reverser.rollback(migrationId, options);
        Duration took = Duration.ofNanos(System.nanoTime() - started);
        String outcome = switch (result.outcome()) {
            case ROLLED_BACK -> "Rolled back";
            case PARTIALLY_ROLLED_BACK -> "Partly rolled back";
            case ALREADY_ROLLED_BACK -> "Already rolled back";
            case DRY_RUN -> "Planned (dry run)";
            case REFUSED -> "Refused";
        };
        log.info("[{}] {}: {} row(s) restored in {} table(s) in {}", migrationId, outcome, result.rowsRestored(),
                result.tables().size(), format(took));
        if (isSlow(took, slowWarning)) {
            log.warn("[{}] Slow rollback: it took {}, more than slow-rollback-warning ({})", migrationId, format(took),
                    format(slowWarning));
        }
        return result;
    }

    static boolean isSlow(Duration took, Duration limit) {
        return took.compareTo(limit) > 0;
    }

    static String format(Duration d) {
        if (d.toMillis() < 1000) {
            return d.toMillis() + " ms";
        }
        if (d.toSeconds() < 120) {
            return String.format(java.util.Locale.ROOT, "%.1f s", d.toMillis() / 1000.0);
        }
        return d.toMinutes() + " min " + d.toSecondsPart() + " s";
    }
}
