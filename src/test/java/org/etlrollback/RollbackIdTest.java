package org.etlrollback;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RollbackIdTest {
    @Test
    void rollbackOfAnIdThatLeavesRoomIsNamedAfterIt() {
        assertThat(Reverser.rollbackId("load_2026_11", 7, 1)).isEqualTo("rollback:load_2026_11");
        assertThat(Reverser.rollbackId("load_2026_11", 7, 2)).isEqualTo("rollback:load_2026_11#2");
        String longest = "x".repeat(191);
        assertThat(Reverser.rollbackId(longest, 7, 1)).isEqualTo("rollback:" + longest).hasSize(200);
    }

    @Test
    void rollbackOfALongIdIsCutToTheLengthOfAnIdAndKeptUniqueByTheMigrationsNumber() {
        String id = "é".repeat(150) + "😀".repeat(50);
        String first = Reverser.rollbackId(id, 42, 1);
        String second = Reverser.rollbackId(id, 42, 2);
        assertThat(first).startsWith("rollback:éé").endsWith("…~42");
        assertThat(second).endsWith("…~42#2");
        assertThat(first.codePointCount(0, first.length())).isEqualTo(200);
        assertThat(second.codePointCount(0, second.length())).isEqualTo(200);
        // never half a surrogate pair
        String cut = Reverser.rollbackId("a" + "😀".repeat(199), 42, 1);
        assertThat(cut.codePoints()).doesNotContain(0xFFFD);
        assertThat(Character.isHighSurrogate(cut.charAt(cut.indexOf('…') - 1))).isFalse();
        assertThat(Reverser.rollbackId(id.substring(0, 190) + "a", 43, 1)).isNotEqualTo(first);
    }
}
