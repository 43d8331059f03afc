package org.etlrollback.rollback;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.SQLException;
import java.util.Map;
import org.etlrollback.ConflictPolicy;
import org.etlrollback.RollbackOptions;
import org.etlrollback.RollbackResult;
import org.etlrollback.TestDatabase;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Keys and constraints checked as each statement (or row) runs, which only some orders of the rollback's
 * statements satisfy. Found by the randomized histories of org.etlrollback.proof.
 */
class ConstraintOrderRollbackIT {
    private static final Scenario DB = new Scenario(TestDatabase.forClass(ConstraintOrderRollbackIT.class));
    private static final String[] TABLES = {"ord.parent", "ord.child", "ord.pair"};

    @BeforeEach
    void schema() throws SQLException {
        DB.forgetMigrations();
        DB.sql("""
                drop schema if exists ord cascade;
                create schema ord;
                create table ord.parent (id int primary key, code text unique, v int);
                create table ord.child (id int primary key, parent_id int references ord.parent, v int);
                create table ord.pair (a int, b text, v int, primary key (a, b));
                insert into ord.parent values (2, 'k2', 0), (15, 'k31', 0);
                insert into ord.child values (7, 2, 0);
                insert into ord.pair values (1, 'ç', 0);
                select etl_rollback.track('ord.parent');
                select etl_rollback.track('ord.child');
                select etl_rollback.track('ord.pair');
                """);
    }

    @Test
    void childRepointedAtAMovedParentIsUpdatedBeforeTheParentMovesBack() throws SQLException {
        Map<String, String> before = DB.state(TABLES);
        DB.tagged("m3", """
                update ord.parent set id = 24, v = 1 where id = 15;
                update ord.child set parent_id = 24, v = 1 where id = 7;
                update ord.pair set a = 3, v = 1 where a = 1 and b = 'ç';
                """);
        // m1 takes the key m3 moved away from: the replay of m3's key move can no longer run
        DB.tagged("m1", "insert into ord.pair values (1, 'ç', 2)");

        // deleting parent 24 needs child 7 moved back first, inserting parent 15 needs its code k31 freed first:
        // updates, then deletes, then inserts
        RollbackResult result = DB.reverser().rollback("m3",
                RollbackOptions.defaults().withOnConflict(ConflictPolicy.FORCE).withVerify(true));

        assertThat(result.replayed()).isFalse();
        assertThat(DB.state(TABLES)).isEqualTo(before);
    }
}
