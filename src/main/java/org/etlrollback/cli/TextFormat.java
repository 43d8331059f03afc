package org.etlrollback.cli;

import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.Optional;

/** How the text output writes times and sizes. */
final class TextFormat {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ssxxx", Locale.ROOT);
    private static final String[] UNITS = {"bytes", "kB", "MB", "GB", "TB", "PB"};

    private TextFormat() {
    }

    /** A time in the machine's time zone, to the second: {@code 2026-11-02 10:15:00+01:00}. */
    static String time(OffsetDateTime time) {
        return TIME.format(time.atZoneSameInstant(ZoneId.systemDefault()));
    }

    /** A time, or {@code -} for none. */
    static String time(Optional<OffsetDateTime> time) {
        return time.map(TextFormat::time).orElse("-");
    }

    /**
     * A size as {@code pg_size_pretty} writes it: bytes up to 10 kB, then the largest unit (of 1024) that leaves at
     * least 10, rounded: {@code 8191 bytes}, {@code 16 kB}, {@code 1465 kB}, {@code 12 MB}.
     */
    static String bytes(long bytes) {
        double value = bytes;
        int unit = 0;
        while (Math.abs(value) >= 10 * 1024 && unit < UNITS.length - 1) {
            value /= 1024;
            unit++;
        }
        return Math.round(value) + " " + UNITS[unit];
    }

    /** {@code 1 row}, {@code 2 rows}. */
    static String count(long n, String singular, String plural) {
        return n + " " + (n == 1 ? singular : plural);
    }
}
