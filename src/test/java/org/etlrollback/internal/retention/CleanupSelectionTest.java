package org.etlrollback.internal.retention;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.etlrollback.internal.retention.CleanupSelection.Activity;
import org.etlrollback.internal.retention.CleanupSelection.Kept;
import org.junit.jupiter.api.Test;

class CleanupSelectionTest {
    private static final OffsetDateTime CUTOFF = OffsetDateTime.of(2026, 1, 31, 0, 0, 0, 0, ZoneOffset.UTC);

    private static Activity migration(int mig, String id, int daysBeforeCutoff) {
        return new Activity(mig, id, Optional.empty(), CUTOFF.minusDays(daysBeforeCutoff));
    }

    private static Activity rollback(int mig, String id, int of, int daysBeforeCutoff) {
        return new Activity(mig, id, Optional.of(of), CUTOFF.minusDays(daysBeforeCutoff));
    }

    private static List<String> deleted(CleanupSelection selection) {
        return selection.deleted().stream().map(Activity::migrationId).toList();
    }

    private static List<String> kept(CleanupSelection selection) {
        return selection.kept().stream().map(k -> k.migration().migrationId() + ": " + k.reason()).toList();
    }

    @Test
    void onlyMigrationsWhoseLastActivityCameBeforeTheCutoffAreDeletedOldestFirst() {
        CleanupSelection selection = CleanupSelection.of(List.of(
                migration(1, "a", 5), migration(2, "b", 0), migration(3, "c", -3), migration(4, "d", 9)),
                CUTOFF, Map.of());

        assertThat(deleted(selection)).containsExactly("d", "a");
        assertThat(selection.kept()).isEmpty();
    }

    @Test
    void aMigrationIsKeptWhileItsRollbackIsNewerThanTheCutoff() {
        CleanupSelection selection = CleanupSelection.of(List.of(
                migration(1, "x", 10), rollback(2, "rollback:x", 1, -1)), CUTOFF, Map.of());

        assertThat(deleted(selection)).isEmpty();
        assertThat(kept(selection)).containsExactly("x: it is linked by rollback to rollback:x (newer than the cutoff),"
                + " and a migration and its rollbacks are deleted together");
    }

    @Test
    void aChainOfRollbacksIsOneGroup() {
        List<Activity> chain = List.of(migration(1, "x", 30), rollback(2, "rollback:x", 1, 20),
                rollback(3, "rollback:rollback:x", 2, 10), rollback(4, "rollback:x#2", 1, 5), migration(5, "y", 40));

        assertThat(deleted(CleanupSelection.of(chain, CUTOFF, Map.of())))
                .containsExactly("y", "x", "rollback:x", "rollback:rollback:x", "rollback:x#2");
        CleanupSelection oneInUse = CleanupSelection.of(chain, CUTOFF, Map.of(3, "a rollback of it is running"));
        assertThat(deleted(oneInUse)).containsExactly("y");
        assertThat(kept(oneInUse)).containsExactly(
                "x: it is linked by rollback to rollback:rollback:x (a rollback of it is running), and a migration"
                        + " and its rollbacks are deleted together",
                "rollback:x: it is linked by rollback to rollback:rollback:x (a rollback of it is running), and a"
                        + " migration and its rollbacks are deleted together",
                "rollback:rollback:x: a rollback of it is running",
                "rollback:x#2: it is linked by rollback to rollback:rollback:x (a rollback of it is running), and a"
                        + " migration and its rollbacks are deleted together");
    }

    @Test
    void aMigrationInUseIsKeptWithItsReasonAndOthersAreNotHeldBack() {
        CleanupSelection selection = CleanupSelection.of(List.of(migration(1, "a", 3), migration(2, "b", 4)), CUTOFF,
                Map.of(1, "an open transaction is still writing it"));

        assertThat(deleted(selection)).containsExactly("b");
        assertThat(selection.kept()).extracting(Kept::reason).containsExactly("an open transaction is still writing it");
    }

    @Test
    void aRollbackOfAMigrationNoLongerInTheLogStandsAlone() {
        CleanupSelection selection = CleanupSelection.of(List.of(rollback(7, "rollback:gone", 3, 2)), CUTOFF, Map.of());

        assertThat(deleted(selection)).containsExactly("rollback:gone");
    }

    @Test
    void oldListsTheCandidatesOldestFirst() {
        assertThat(CleanupSelection.old(List.of(migration(1, "a", 1), migration(2, "b", 0), migration(3, "c", 2)),
                CUTOFF)).extracting(Activity::migrationId).containsExactly("c", "a");
    }
}
