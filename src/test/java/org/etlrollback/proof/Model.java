package org.etlrollback.proof;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import org.etlrollback.ConflictPolicy;
import org.etlrollback.RollbackResult.Outcome;
import org.etlrollback.proof.RandomSchema.Table;

/**
 * What the rows and the migrations should be, kept in memory beside the database.
 *
 * <p>Writes enter the model as what they did to each row: the difference between the tables before and after
 * the statement, read from the database (so the model needs no SQL semantics), tagged with the session's
 * migration. A rollback is predicted from those row changes alone, by the rules of docs/rollback.md: per key the
 * migration touched, its before-state (before the migration's first change to it) and after-state (after its
 * last), compared with the row now: {@code done} (in its before-state, and taken over from the state the migration
 * left by no migration but its own rollbacks and theirs: its family), {@code ok} or {@code conflict}; conflicts are
 * attributed to the migrations outside that family that changed the key after the migration's last change to it,
 * and to an untagged write where none did or the logged changes since do not follow on from one another. The
 * policies, cascades, the {@code rollback:X} migrations and the statuses follow the contract.
 * A rollback whose result would break a unique or foreign key is predicted to fail and change nothing.
 */
final class Model {
    private final RandomSchema schema;
    private final Map<Table, TreeMap<String, Row>> state = new EnumMap<>(Table.class);
    private final List<Event> events = new ArrayList<>();
    private final Map<String, Migration> migrations = new LinkedHashMap<>();
    private long seq;
    /** During a predicted rollback: the migrations it has rolled back and the rollbacks it has logged. */
    private final Set<String> handled = new HashSet<>();

    /** One row change: {@code migration} is null for an untagged write. */
    record Event(long seq, long transaction, String migration, Table table, String key, Row before, Row after) {
    }

    /** A migration as the model knows it; {@code order} is the order of registration. */
    static final class Migration {
        final String id;
        final int order;
        final String rollbackOf;
        String status = "active";
        /** For a rollback: whether it undid all of the migration's changes, skipping none. */
        boolean undidAll;

        Migration(String id, int order, String rollbackOf) {
            this.id = id;
            this.order = order;
            this.rollbackOf = rollbackOf;
        }
    }

    /** A conflicting row as a rollback must report it. */
    record ExpectedConflict(String table, String key, List<String> laterMigrations, boolean untagged) {
    }

    /** Per table, what a rollback does: as {@link org.etlrollback.TableRollback}. */
    record Counts(long deleted, long updated, long inserted, long unchanged, long conflicts) {
    }

    /** What a rollback must do. */
    sealed interface Prediction {
    }

    /** It completes (or is a dry run, or finds the migration rolled back already). */
    record Completed(Outcome outcome, String rollbackId, Map<String, Counts> tables, Set<ExpectedConflict> conflicts,
                     List<String> cascaded, Model after) implements Prediction {
    }

    /** It is refused because of conflicts ({@code abort}, or {@code cascade} that meets an untagged change). */
    record Refused(String migrationId, Map<String, Counts> tables, Set<ExpectedConflict> conflicts)
            implements Prediction {
    }

    /** It fails and changes nothing, because its result would break a constraint. */
    record Fails(String why) implements Prediction {
    }

    private record KeyPlan(Table table, String key, Row before, Row after, Row now, String state, char action,
                           long lastSeq) {
    }

    private static final class FailsSignal extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final transient Fails fails;

        FailsSignal(Fails fails) {
            super(null, null, false, false);
            this.fails = fails;
        }
    }

    private static final class RefusedSignal extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final transient Refused refused;

        RefusedSignal(Refused refused) {
            super(null, null, false, false);
            this.refused = refused;
        }
    }

    Model(RandomSchema schema, Map<Table, TreeMap<String, Row>> initial) {
        this.schema = schema;
        initial.forEach((t, rows) -> state.put(t, new TreeMap<>(rows)));
    }

    private Model(Model other) {
        schema = other.schema;
        other.state.forEach((t, rows) -> state.put(t, new TreeMap<>(rows)));
        events.addAll(other.events);
        other.migrations.forEach((id, m) -> {
            Migration copy = new Migration(m.id, m.order, m.rollbackOf);
            copy.status = m.status;
            copy.undidAll = m.undidAll;
            migrations.put(id, copy);
        });
        seq = other.seq;
    }

    Map<Table, TreeMap<String, Row>> state() {
        return state;
    }

    TreeMap<String, Row> rows(Table table) {
        return state.get(table);
    }

    List<Event> events() {
        return events;
    }

    /** The ids of the migrations the log knows, in order of registration. */
    List<String> migrationIds() {
        return List.copyOf(migrations.keySet());
    }

    /** Migration id to status, as etl_rollback.migrations lists them. */
    Map<String, String> statuses() {
        Map<String, String> statuses = new TreeMap<>();
        migrations.values().forEach(m -> statuses.put(m.id, m.status));
        return statuses;
    }

    /** Whether a write tagged with the id is accepted: the id is new, or its migration is active. */
    boolean acceptsWrites(String migrationId) {
        Migration m = migrations.get(migrationId);
        return m == null || m.status.equals("active");
    }

    /** Takes in a statement's effect: the tables as they are after it. Returns whether it changed a row. */
    boolean recordWrite(String migrationId, Map<Table, TreeMap<String, Row>> after) {
        long transaction = ++seq;
        boolean changed = false;
        for (Table table : Table.values()) {
            TreeMap<String, Row> old = state.get(table);
            TreeMap<String, Row> now = after.get(table);
            Set<String> keys = new java.util.TreeSet<>(old.keySet());
            keys.addAll(now.keySet());
            for (String key : keys) {
                Row before = old.get(key);
                Row a = now.get(key);
                if (!Objects.equals(before, a)) {
                    events.add(new Event(++seq, transaction, migrationId, table, key, before, a));
                    changed = true;
                }
            }
            state.put(table, new TreeMap<>(now));
        }
        if (changed && migrationId != null) {
            migrations.computeIfAbsent(migrationId, id -> new Migration(id, migrations.size(), null));
        }
        return changed;
    }

    /** What rolling back the migration with the policy must do; this model is left as it is. */
    Prediction rollback(String migrationId, ConflictPolicy policy, boolean dryRun) {
        Model next = new Model(this);
        List<String> cascaded = new ArrayList<>();
        Completed done;
        try {
            done = next.rollbackInto(migrationId, policy, dryRun, new HashSet<>(), cascaded, ++next.seq);
        } catch (RefusedSignal signal) {
            return signal.refused;
        } catch (FailsSignal signal) {
            return signal.fails;
        }
        if (done.outcome() == Outcome.DRY_RUN || done.outcome() == Outcome.ALREADY_ROLLED_BACK) {
            return new Completed(done.outcome(), done.rollbackId(), done.tables(), done.conflicts(), cascaded, this);
        }
        String violation = next.violation();
        if (violation != null) {
            return new Fails(violation);
        }
        return new Completed(done.outcome(), done.rollbackId(), done.tables(), done.conflicts(), cascaded, next);
    }

    private Completed rollbackInto(String migrationId, ConflictPolicy policy, boolean dryRun, Set<String> inProgress,
                                   List<String> cascaded, long transaction) {
        Migration migration = migrations.get(migrationId);
        if (migration.status.equals("rolled_back")) {
            return new Completed(Outcome.ALREADY_ROLLED_BACK, "", Map.of(), Set.of(), List.of(), this);
        }
        List<KeyPlan> plan = plan(migrationId);
        // a dry run rolls the dependents back too, to plan what is left, and then undoes it all
        if (hasConflicts(plan) && policy == ConflictPolicy.CASCADE) {
            inProgress.add(migrationId);
            List<Migration> dependents = dependents(migrationId, plan, inProgress);
            for (Migration dependent : dependents) {
                if (!handled.contains(dependent.id)) {
                    Map<Table, Set<Integer>> idsBefore = referencedIds();
                    rollbackInto(dependent.id, ConflictPolicy.CASCADE, false, inProgress, cascaded, transaction);
                    // a constraint the server checks at once fails the cascade there; deferred ones wait for the end
                    String violation = violation(idsBefore);
                    if (violation != null) {
                        throw new FailsSignal(new Fails(violation + ", after rolling back " + dependent.id));
                    }
                    cascaded.add(dependent.id);
                }
            }
            if (!dependents.isEmpty()) {
                plan = plan(migrationId);
            }
        }
        boolean force = policy == ConflictPolicy.FORCE;
        if (hasConflicts(plan) && (policy == ConflictPolicy.ABORT || policy == ConflictPolicy.CASCADE)) {
            if (dryRun) {
                return new Completed(Outcome.DRY_RUN, "", counts(migrationId, plan, false),
                        conflicts(migrationId, plan), List.of(), this);
            }
            throw new RefusedSignal(new Refused(migrationId, counts(migrationId, plan, false),
                    conflicts(migrationId, plan)));
        }
        if (dryRun) {
            return new Completed(Outcome.DRY_RUN, "", counts(migrationId, plan, force), conflicts(migrationId, plan),
                    List.of(), this);
        }
        boolean partial = hasConflicts(plan) && policy == ConflictPolicy.SKIP;
        Set<ExpectedConflict> conflicts = conflicts(migrationId, plan);
        String rollbackId = rollbackId(migrationId);
        migrations.put(rollbackId, new Migration(rollbackId, migrations.size(), migrationId));
        handled.add(migrationId);
        handled.add(rollbackId);
        for (KeyPlan k : plan) {
            // a key the migration inserted that is gone again has nothing to restore, whatever its state
            if ((k.state().equals("ok") || (force && k.state().equals("conflict"))) && k.action() != '-') {
                if (k.before() == null) {
                    state.get(k.table()).remove(k.key());
                } else {
                    state.get(k.table()).put(k.key(), k.before());
                }
                events.add(new Event(++seq, transaction, rollbackId, k.table(), k.key(), k.now(), k.before()));
            }
        }
        migrations.get(rollbackId).undidAll = !partial;
        setStatus(migration, afterUndoing(migration.status, !partial));
        return new Completed(partial ? Outcome.PARTIALLY_ROLLED_BACK : Outcome.ROLLED_BACK, rollbackId,
                counts(migrationId, plan, force), conflicts, List.of(), this);
    }

    /**
     * Sets a migration's status. Where it is a rollback that went out of force, came back into force, or went out
     * of it in part, the migration it undid follows, as {@code R__status.sql} has it for windows that are all of a
     * migration's changes (the histories set no checkpoints).
     */
    private void setStatus(Migration migration, String status) {
        String was = migration.status;
        migration.status = status;
        if (migration.rollbackOf == null || was.equals(status)) {
            return;
        }
        Migration of = migrations.get(migration.rollbackOf);
        String next;
        if (status.equals("rolled_back")) {
            boolean anyInForce = migrations.values().stream()
                    .anyMatch(m -> of.id.equals(m.rollbackOf) && !m.status.equals("rolled_back"));
            next = anyInForce ? afterRedoing(of.status) : "active";
        } else if (was.equals("rolled_back")) {
            next = afterUndoing(of.status, migration.undidAll && status.equals("active"));
        } else if (status.equals("partially_rolled_back")) {
            next = afterUndoing(afterRedoing(of.status), false);
        } else {
            next = afterUndoing(of.status, migration.undidAll);
        }
        setStatus(of, next);
    }

    /** A migration's status once all its changes are undone ({@code all}), or some. */
    private static String afterUndoing(String status, boolean all) {
        return status.equals("rolled_back") || all ? "rolled_back" : "partially_rolled_back";
    }

    /** A migration's status once all its changes are back in force, as far as known. */
    private static String afterRedoing(String status) {
        return status.equals("rolled_back") ? "active" : status;
    }

    /** Per key the migration changed: its before- and after-state, the row now, the state and the action. */
    private List<KeyPlan> plan(String migrationId) {
        Map<List<Object>, List<Event>> byKey = new LinkedHashMap<>();
        for (Event e : events) {
            if (migrationId.equals(e.migration())) {
                byKey.computeIfAbsent(List.of(e.table(), e.key()), k -> new ArrayList<>()).add(e);
            }
        }
        List<KeyPlan> plan = new ArrayList<>();
        Set<String> family = family(migrationId);
        byKey.forEach((k, changes) -> {
            Event first = changes.get(0);
            Event last = changes.get(changes.size() - 1);
            Row now = state.get(first.table()).get(first.key());
            String st;
            // back in the before-state, and taken over from what the migration left by a migration outside its
            // family whose rollback would bring the change back: the last logged change to it is outside the
            // family, and no untagged write changed the row since
            boolean takenOver = events.stream().anyMatch(e -> e.seq() > last.seq()
                    && e.table() == first.table() && e.key().equals(first.key()) && e.migration() != null
                    && !family.contains(e.migration())
                    && (last.after() != null ? last.after().equals(e.before())
                            : e.before() == null && e.after() != null));
            Event lastLogged = events.stream().filter(e -> e.seq() > last.seq() && e.table() == first.table()
                    && e.key().equals(first.key()) && e.migration() != null)
                    .reduce((a, b) -> b).orElse(null);
            boolean held = takenOver && lastLogged != null && !family.contains(lastLogged.migration())
                    && Objects.equals(lastLogged.after(), now);
            if (Objects.equals(now, first.before()) && !held) {
                st = "done";
            } else if (Objects.equals(now, last.after())) {
                st = "ok";
            } else {
                st = "conflict";
            }
            char action = first.before() != null ? (now != null ? 'U' : 'I') : (now != null ? 'D' : '-');
            plan.add(new KeyPlan(first.table(), first.key(), first.before(), last.after(), now, st, action,
                    last.seq()));
        });
        return plan;
    }

    /** The migration the given one descends from by rollbacks, and every rollback descending from that. */
    private Set<String> family(String migrationId) {
        String root = migrationId;
        while (migrations.get(root).rollbackOf != null) {
            root = migrations.get(root).rollbackOf;
        }
        Set<String> family = new HashSet<>(Set.of(root));
        boolean grew = true;
        while (grew) {
            grew = migrations.values().stream().filter(m -> m.rollbackOf != null && family.contains(m.rollbackOf))
                    .map(m -> family.add(m.id)).reduce(false, Boolean::logicalOr);
        }
        return family;
    }

    private static boolean hasConflicts(List<KeyPlan> plan) {
        return plan.stream().anyMatch(k -> k.state().equals("conflict"));
    }

    /**
     * The tagged migrations that changed the key after the migration's last change to it, oldest first, but for the
     * migration's family.
     */
    private List<String> laterMigrations(String migrationId, KeyPlan k) {
        Set<String> family = family(migrationId);
        Set<String> later = new LinkedHashSet<>();
        for (Event e : events) {
            if (e.seq() > k.lastSeq() && e.table() == k.table() && e.key().equals(k.key())
                    && e.migration() != null && !family.contains(e.migration())) {
                later.add(e.migration());
            }
        }
        return List.copyOf(later);
    }

    /**
     * Whether the log shows an untagged write to the key since the migration's last change to it: a logged change
     * found the row otherwise than the change before it left it, or the last left it otherwise than it is now.
     */
    private boolean untaggedSince(KeyPlan k) {
        Row left = k.after();
        for (Event e : events) {
            if (e.seq() > k.lastSeq() && e.table() == k.table() && e.key().equals(k.key()) && e.migration() != null) {
                if (!Objects.equals(e.before(), left)) {
                    return true;
                }
                left = e.after();
            }
        }
        return !Objects.equals(left, k.now());
    }

    private Set<ExpectedConflict> conflicts(String migrationId, List<KeyPlan> plan) {
        Set<ExpectedConflict> conflicts = new HashSet<>();
        for (KeyPlan k : plan) {
            if (k.state().equals("conflict")) {
                List<String> later = laterMigrations(migrationId, k);
                conflicts.add(new ExpectedConflict(k.table().qualified(), k.key(), later,
                        later.isEmpty() || untaggedSince(k)));
            }
        }
        return conflicts;
    }

    /** The later migrations behind the conflicts, still to roll back first: newest first. */
    private List<Migration> dependents(String migrationId, List<KeyPlan> plan, Set<String> inProgress) {
        Set<String> ids = new LinkedHashSet<>();
        for (KeyPlan k : plan) {
            if (k.state().equals("conflict")) {
                ids.addAll(laterMigrations(migrationId, k));
            }
        }
        return ids.stream().map(migrations::get)
                .filter(m -> !inProgress.contains(m.id) && !handled.contains(m.id)
                        && !m.status.equals("rolled_back"))
                .sorted(Comparator.comparingInt((Migration m) -> m.order).reversed())
                .toList();
    }

    private Map<String, Counts> counts(String migrationId, List<KeyPlan> plan, boolean force) {
        Map<Table, long[]> counts = new EnumMap<>(Table.class);
        for (Event e : events) {
            if (migrationId.equals(e.migration())) {
                counts.computeIfAbsent(e.table(), t -> new long[5]);
            }
        }
        for (KeyPlan k : plan) {
            long[] c = counts.get(k.table());
            boolean restored = k.state().equals("ok") || (force && k.state().equals("conflict"));
            if (k.state().equals("done") || (k.state().equals("ok") && k.action() == '-')) {
                c[3]++;
            } else if (restored && k.action() != '-') {
                c[switch (k.action()) {
                    case 'D' -> 0;
                    case 'U' -> 1;
                    default -> 2;
                }]++;
            }
            if (k.state().equals("conflict")) {
                c[4]++;
            }
        }
        Map<String, Counts> byName = new TreeMap<>();
        counts.forEach((t, c) -> byName.put(t.qualified(), new Counts(c[0], c[1], c[2], c[3], c[4])));
        return byName;
    }

    private String rollbackId(String migrationId) {
        String base = "rollback:" + migrationId;
        String id = base;
        for (int n = 2; migrations.containsKey(id); n++) {
            id = base + "#" + n;
        }
        return id;
    }

    /** The first unique or foreign key the rows break, described; null when they break none. */
    String violation() {
        return violation(false, Map.of());
    }

    /**
     * The first key that a rollback, done in a cascade, breaks before the commit, described; null when it breaks
     * none: keys that are not deferrable, and foreign keys with an ON DELETE action whose referenced row the
     * rollback deleted (which a rollback checks before it writes: the action would hit the referring row). A row
     * the rollback restored to refer to a row missing already waits for the commit, where keys are deferrable.
     * {@code idsBefore}: the ids of the referenced tables before the rollback.
     */
    String violation(Map<Table, Set<Integer>> idsBefore) {
        return violation(true, idsBefore);
    }

    /** The ids of the tables that foreign keys refer to. */
    private Map<Table, Set<Integer>> referencedIds() {
        Map<Table, Set<Integer>> ids = new HashMap<>();
        for (Table table : List.of(Table.CHILD, Table.NODE)) {
            Set<Integer> present = new HashSet<>();
            state.get(table.referenced()).values().forEach(r -> present.add(r.id()));
            ids.put(table.referenced(), present);
        }
        return ids;
    }

    private String violation(boolean immediate, Map<Table, Set<Integer>> idsBefore) {
        if (!immediate || !schema.deferrableCode()) {
            Map<String, String> codes = new HashMap<>();
            for (Row parent : state.get(Table.PARENT).values()) {
                if (parent.extra() != null && codes.put(parent.extra(), parent.key()) != null) {
                    return "parent code " + parent.extra() + " taken twice";
                }
            }
        }
        for (Table table : List.of(Table.CHILD, Table.NODE)) {
            RandomSchema.DeleteAction action = table == Table.CHILD ? schema.childOnDelete() : schema.nodeOnDelete();
            if (immediate && schema.deferrableKeys() && action == RandomSchema.DeleteAction.NO_ACTION) {
                continue;
            }
            boolean onlyDeleted = immediate && schema.deferrableKeys();
            Set<Integer> ids = new HashSet<>();
            state.get(table.referenced()).values().forEach(r -> ids.add(r.id()));
            for (Row row : state.get(table).values()) {
                if (row.extra() == null) {
                    continue;
                }
                int referenced = Integer.parseInt(row.extra());
                if (!ids.contains(referenced)
                        && (!onlyDeleted || idsBefore.get(table.referenced()).contains(referenced))) {
                    return table.qualified() + " row " + row.key() + " refers to missing " + row.extra();
                }
            }
        }
        return null;
    }
}
