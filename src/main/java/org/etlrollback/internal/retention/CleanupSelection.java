package org.etlrollback.internal.retention;

import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Which old migrations a cleanup deletes, and which it keeps and why. A migration and its rollbacks ({@code X},
 * {@code rollback:X}, {@code rollback:rollback:X}, ...) refer to each other and are deleted together, or not at all:
 * all of them must be older than the cutoff, and none may be in use (written by an open transaction, or being
 * rolled back).
 */
final class CleanupSelection {
    private static final Comparator<Activity> OLDEST_FIRST = Comparator.comparing(Activity::lastActivity)
            .thenComparingInt(Activity::mig);

    private final List<Activity> deleted;
    private final List<Kept> kept;

    private CleanupSelection(List<Activity> deleted, List<Kept> kept) {
        this.deleted = List.copyOf(deleted);
        this.kept = List.copyOf(kept);
    }

    /**
     * A migration and the time of its last logged change or checkpoint.
     *
     * @param mig          its surrogate
     * @param migrationId  its id
     * @param rollbackOf   for {@code rollback:X}, the surrogate of X
     * @param lastActivity its last logged change or checkpoint, or else its start
     */
    record Activity(int mig, String migrationId, Optional<Integer> rollbackOf, OffsetDateTime lastActivity) {
        boolean isOlderThan(OffsetDateTime cutoff) {
            return lastActivity.isBefore(cutoff);
        }
    }

    /** An old migration that is kept, and why. */
    record Kept(Activity migration, String reason) {
    }

    /** The migrations whose last activity came before the cutoff, oldest first: those a cleanup considers. */
    static List<Activity> old(List<Activity> migrations, OffsetDateTime cutoff) {
        return migrations.stream().filter(m -> m.isOlderThan(cutoff)).sorted(OLDEST_FIRST).toList();
    }

    /**
     * @param migrations every migration of the log
     * @param cutoff     migrations whose last activity came before it are old
     * @param inUse      why a migration may not be deleted now, by surrogate: e.g. an open transaction writes it
     */
    static CleanupSelection of(List<Activity> migrations, OffsetDateTime cutoff, Map<Integer, String> inUse) {
        Map<Integer, Activity> byMig = new HashMap<>();
        migrations.forEach(m -> byMig.put(m.mig(), m));
        Map<Integer, Integer> parent = new HashMap<>();
        for (Activity m : migrations) {
            m.rollbackOf().filter(byMig::containsKey).ifPresent(of -> union(parent, m.mig(), of));
        }
        Map<Integer, List<Activity>> groups = migrations.stream()
                .collect(Collectors.groupingBy(m -> root(parent, m.mig()), LinkedHashMap::new, Collectors.toList()));

        List<Activity> deleted = new ArrayList<>();
        List<Kept> kept = new ArrayList<>();
        for (List<Activity> group : groups.values()) {
            List<Activity> blockers = group.stream()
                    .filter(m -> !m.isOlderThan(cutoff) || inUse.containsKey(m.mig()))
                    .sorted(OLDEST_FIRST)
                    .toList();
            for (Activity m : group) {
                if (!m.isOlderThan(cutoff)) {
                    continue;
                }
                if (blockers.isEmpty()) {
                    deleted.add(m);
                } else if (inUse.containsKey(m.mig())) {
                    kept.add(new Kept(m, inUse.get(m.mig())));
                } else {
                    kept.add(new Kept(m, "it is linked by rollback to " + blockers.stream()
                            .map(b -> b.migrationId() + (inUse.containsKey(b.mig()) ? " (" + inUse.get(b.mig()) + ")"
                                    : " (newer than the cutoff)"))
                            .collect(Collectors.joining(", "))
                            + ", and a migration and its rollbacks are deleted together"));
                }
            }
        }
        deleted.sort(OLDEST_FIRST);
        kept.sort(Comparator.comparing(Kept::migration, OLDEST_FIRST));
        return new CleanupSelection(deleted, kept);
    }

    /** The migrations to delete, oldest first. */
    List<Activity> deleted() {
        return deleted;
    }

    /** The old migrations to keep, oldest first. */
    List<Kept> kept() {
        return kept;
    }

    private static int root(Map<Integer, Integer> parent, int mig) {
        int root = mig;
        while (parent.containsKey(root)) {
            root = parent.get(root);
        }
        return root;
    }

    private static void union(Map<Integer, Integer> parent, int a, int b) {
        int rootA = root(parent, a);
        int rootB = root(parent, b);
        if (rootA != rootB) {
            parent.put(Math.max(rootA, rootB), Math.min(rootA, rootB));
        }
    }
}
