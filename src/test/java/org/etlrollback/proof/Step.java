package org.etlrollback.proof;

import org.etlrollback.ConflictPolicy;
import org.etlrollback.proof.RandomSchema.Table;

/**
 * One step of a randomized history: a write in some session, or a rollback. A step holds choices, not rows:
 * which rows it touches and the values it writes are picked when it runs, from the rows there are then, so that
 * any subsequence of steps (as shrinking makes) is still a valid history.
 */
sealed interface Step {

    /** A statement in a session: 0 is untagged, 1 to 3 are tagged with the migration ids of {@link History}. */
    record Write(int session, Op op) implements Step {
        @Override
        public String toString() {
            return (session == 0 ? "untagged" : History.MIGRATION_IDS.get(session - 1)) + ": " + op;
        }
    }

    /**
     * A rollback of one of the migrations known at that point, picked by {@code target} modulo their number.
     *
     * @param dryRunFirst also run it as a dry run first, which must change nothing and report the same plan
     */
    record Rollback(int target, ConflictPolicy policy, boolean verify, boolean dryRunFirst) implements Step {
        @Override
        public String toString() {
            return "rollback #" + target + " --on-conflict " + policy.name().toLowerCase(java.util.Locale.ROOT)
                    + (verify ? " --verify" : "") + (dryRunFirst ? " (dry run first)" : "");
        }
    }

    /** What a write does; {@code seed} picks its rows and values. */
    sealed interface Op {
        Table table();
    }

    /** Inserts new rows, as one multi-row INSERT (or a single row), or through COPY. */
    record Insert(Table table, int rows, boolean copy, int seed) implements Op {
    }

    /** Updates rows, with values per row or with expressions over their own columns. */
    record Update(Table table, int rows, boolean expressions, int seed) implements Op {
    }

    /** Changes the key of one row, or shifts the keys of several. */
    record MoveKey(Table table, int rows, int seed) implements Op {
    }

    record Delete(Table table, int rows, int seed) implements Op {
    }

    /** INSERT ... ON CONFLICT DO UPDATE over new and existing keys. */
    record Upsert(Table table, int rows, int seed) implements Op {
    }

    /** TRUNCATE (CASCADE for the parent table). */
    record Truncate(Table table) implements Op {
    }

    /** Sets a row back to an image it had before (or removes or re-creates it), bit for bit. */
    record Revert(Table table, int seed) implements Op {
    }
}
