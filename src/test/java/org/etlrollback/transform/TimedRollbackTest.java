package org.etlrollback.transform;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class TimedRollbackTest {

    @Test
    void rollbackIsSlowOnlyBeyondTheLimit() {
        assertThat(TimedRollback.isSlow(Duration.ofMinutes(6), Duration.ofMinutes(5))).isTrue();
        assertThat(TimedRollback.isSlow(Duration.ofMinutes(5), Duration.ofMinutes(5))).isFalse();
        assertThat(TimedRollback.isSlow(Duration.ofMillis(1), Duration.ZERO)).isTrue();
    }

    @Test
    void durationsReadAsPeopleWriteThem() {
        assertThat(TimedRollback.format(Duration.ofMillis(85))).isEqualTo("85 ms");
        assertThat(TimedRollback.format(Duration.ofMillis(2104))).isEqualTo("2.1 s");
        assertThat(TimedRollback.format(Duration.ofSeconds(367))).isEqualTo("6 min 7 s");
    }
}
