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
 * A partitioned table (two levels, a default partition, a child table referencing it) is restored whether the
 * migration wrote through the partitioned table or straight into its partitions, and every row ends up back in
 * the partition it came from.
 */
class PartitionedRollbackIT {
    private static final Scenario DB = new Scenario(TestDatabase.forClass(PartitionedRollbackIT.class));
    /** The partitioned table, each leaf partition (to see where rows are), and the child table. */
    private static final String[] TABLES = {"part.sales", "part.sales_eu", "part.sales_us_low", "part.sales_us_high",
        "part.sales_other", "part.sale_lines"};

    @BeforeEach
    void schema() throws SQLException {
        DB.forgetMigrations();
        DB.sql("""
                drop schema if exists part cascade;
                create schema part;
                create table part.sales (id int not null, region text not null, amount numeric(10,2), note text,
                    primary key (region, id)) partition by list (region);
                create table part.sales_eu partition of part.sales for values in ('eu');
                create table part.sales_us partition of part.sales for values in ('us') partition by range (id);
                create table part.sales_us_low partition of part.sales_us for values from (minvalue) to (30);
                create table part.sales_us_high partition of part.sales_us for values from (30) to (maxvalue);
                create table part.sales_other partition of part.sales default;
                insert into part.sales
                    select g, case when g <= 20 then 'eu' when g <= 40 then 'us' else 'apac' end, g * 1.5, null
                      from generate_series(1, 60) g;
                create table part.sale_lines (line int primary key, region text not null, sale_id int not null,
                    qty int, foreign key (region, sale_id) references part.sales on delete cascade);
                insert into part.sale_lines select g, s.region, s.id, g from generate_series(1, 30) g
                    join part.sales s on s.id = g * 2;
                select etl_rollback.track('part.sales');
                select etl_rollback.track('part.sale_lines');
                """);
    }

    @Test
    void rowsMovedAcrossPartitionsInsertedIntoPartitionsAndDeletedAreRestored() throws SQLException {
        Map<String, String> before = DB.state(TABLES);
        DB.tagged("m1", """
                update part.sales set region = 'us', note = 'moved' where region = 'eu' and id in (1, 3, 5);
                update part.sales set id = id + 100 where region = 'us' and id in (35, 37);
                update part.sales set region = 'apac' where id = 7;
                update part.sales set region = 'us' where id = 7;
                update part.sales set note = 'stays' where id = 9;
                insert into part.sales_eu values (100, 'eu', 1, 'straight into a partition');
                insert into part.sales_us_high values (300, 'us', 2, 'straight into a sub-partition');
                insert into part.sales values (200, 'mars', 3, 'routed to the default partition');
                update part.sales_us_low set amount = 0 where id between 21 and 25;
                delete from part.sales where id in (30, 31);
                delete from part.sales_other where id = 42;
                insert into part.sale_lines values (100, 'us', 7, 1), (101, 'eu', 100, 1);
                """);
        assertThat(DB.rows("part.sales_us_low")).contains("(1,us,1.50,moved)");
        assertThat(DB.count("select count(*) from part.sale_lines")).as("a cascade deleted lines of 30 and 42")
                .isEqualTo(30 - 2 + 2);

        RollbackResult result = DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true));

        assertThat(result.outcome()).isEqualTo(RollbackResult.Outcome.ROLLED_BACK);
        assertThat(DB.state(TABLES)).isEqualTo(before);
        assertThat(DB.count("select count(*) from etl_rollback.changes where migration_id = 'rollback:m1'"))
                .isEqualTo(result.rowsRestored());
    }

    @Test
    void truncateThroughThePartitionedTableIsRolledBack() throws SQLException {
        Map<String, String> before = DB.state(TABLES);
        DB.tagged("m1", """
                truncate part.sales, part.sale_lines;
                insert into part.sales values (1, 'eu', 10, 'after truncate');
                """);

        DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true));

        assertThat(DB.state(TABLES)).isEqualTo(before);
    }

    @Test
    void truncateOfOnePartitionIsRolledBack() throws SQLException {
        Map<String, String> before = DB.state(TABLES);
        DB.tagged("m1", """
                truncate part.sales_other cascade;
                insert into part.sales_other values (41, 'apac', 0, 'same key, new row');
                """);

        DB.reverser().rollback("m1", RollbackOptions.defaults().withVerify(true));

        assertThat(DB.state(TABLES)).isEqualTo(before);
    }
}
