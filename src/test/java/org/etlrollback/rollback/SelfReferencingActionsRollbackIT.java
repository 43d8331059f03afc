package org.etlrollback.rollback;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.SQLException;
import java.util.Map;
import org.etlrollback.RollbackOptions;
import org.etlrollback.RollbackResult;
import org.etlrollback.TestDatabase;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A foreign key of a table to itself with an ON UPDATE action: PostgreSQL logs the rows the action changes in the
 * statement that fired it, after the rows that statement changed, so one statement can change a row twice.
 */
class SelfReferencingActionsRollbackIT {
    private static final Scenario DB = new Scenario(TestDatabase.forClass(SelfReferencingActionsRollbackIT.class));

    @BeforeEach
    void schema() throws SQLException {
        DB.forgetMigrations();
        DB.sql("drop schema if exists selfref cascade; create schema selfref;");
    }

    @Test
    void movedKeysWhoseChildrenTheActionRepointedComeBackWithoutLeftovers() throws SQLException {
        DB.sql("""
                create table selfref.tree (id int primary key,
                    parent int references selfref.tree on update cascade on delete cascade, label text);
                insert into selfref.tree values (1, null, 'root'), (2, 1, 'a'), (3, 1, 'b'), (4, 2, 'aa'),
                    (5, 2, 'ab'), (6, 3, 'ba'), (7, 6, 'baa');
                select etl_rollback.track('selfref.tree');
                """);
        Map<String, String> before = DB.state("selfref.tree");
        // rows 20, 30 and 60 are moved by the statement, then repointed by the action: changed twice
        DB.tagged("m1", "update selfref.tree set id = id * 10, label = upper(label)");

        RollbackResult result = DB.reverser().rollback("m1");

        assertThat(DB.state("selfref.tree")).isEqualTo(before);
        assertThat(result.conflicts()).isEmpty();
        assertThat(result.rowsRestored()).isEqualTo(14);
    }

    @Test
    void rowsChangedAgainByTheActionOnAUniqueColumnAreNoConflict() throws SQLException {
        DB.sql("""
                create table selfref.node (id int primary key, code text unique,
                    parent text references selfref.node (code) on update cascade, label text);
                insert into selfref.node values (1, 'a', null, 'r'), (2, 'b', 'a', 'x'), (3, 'c', 'b', 'y'),
                    (4, 'd', 'a', 'z');
                select etl_rollback.track('selfref.node');
                """);
        Map<String, String> before = DB.state("selfref.node");
        DB.tagged("m1", "update selfref.node set code = code || '!', label = label || '?'");

        RollbackResult result = DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true));

        assertThat(DB.state("selfref.node")).isEqualTo(before);
        assertThat(result.conflicts()).isEmpty();
    }

    @Test
    void keysMovedBackAndForthWithTheActionInBetween() throws SQLException {
        DB.sql("""
                create table selfref.tree (id int primary key,
                    parent int references selfref.tree on update set null on delete cascade, label text);
                insert into selfref.tree values (1, null, 'r'), (2, 1, 'x'), (3, 2, 'y'), (4, 1, 'z'), (5, null, 'w');
                select etl_rollback.track('selfref.tree');
                """);
        Map<String, String> before = DB.state("selfref.tree");
        DB.tagged("m1", """
                update selfref.tree set id = id + 10 where id in (1, 2);
                update selfref.tree set id = id - 10, label = 'k' where id in (11, 12);
                delete from selfref.tree where id = 2;
                """);

        DB.reverser().rollback("m1");

        assertThat(DB.state("selfref.tree")).isEqualTo(before);
    }
}
