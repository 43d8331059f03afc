package org.etlrollback.rollback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.SQLException;
import org.etlrollback.ConflictException;
import org.etlrollback.ConflictPolicy;
import org.etlrollback.Reverser;
import org.etlrollback.RollbackOptions;
import org.etlrollback.RollbackResult;
import org.etlrollback.TableState;
import org.etlrollback.TestDatabase;
import org.junit.jupiter.api.Test;

/** The worked example of docs/rollback.md, step by step. */
class WorkedExampleIT {
    private static final TestDatabase DB = TestDatabase.forClass(WorkedExampleIT.class);

    @Test
    void theDocumentedExampleBehavesAsDocumented() throws SQLException {
        DB.execute("""
                create schema shop;
                create table shop.customers (id bigint primary key, email text unique, balance numeric(12,2));
                insert into shop.customers values (1, 'a@x', 10), (2, 'b@x', 20), (3, 'c@x', 30);
                select etl_rollback.track('shop.customers');
                set etl_rollback.migration_id = 'fix_balances';
                update shop.customers set balance = balance * 2;
                delete from shop.customers where id = 3;
                insert into shop.customers values (4, 'c@x', 0);
                reset etl_rollback.migration_id;
                update shop.customers set balance = 41 where id = 2;
                """);
        Reverser reverser = Reverser.using(DB.dataSource());

        RollbackResult plan = reverser.rollback("fix_balances", RollbackOptions.defaults().withDryRun(true));
        assertThat(plan.tables()).singleElement().satisfies(t -> {
            assertThat(t.updated()).isEqualTo(1);
            assertThat(t.inserted()).isEqualTo(1);
            assertThat(t.deleted()).isEqualTo(1);
            assertThat(t.conflicts()).isEqualTo(1);
        });
        assertThat(plan.conflicts()).singleElement().satisfies(c -> {
            assertThat(c.key()).isEqualTo("{\"id\": 2}");
            assertThat(c.changedBy()).isEqualTo("untagged");
        });

        assertThatThrownBy(() -> reverser.rollback("fix_balances")).isInstanceOf(ConflictException.class);

        RollbackResult skipped = reverser.rollback("fix_balances",
                RollbackOptions.defaults().withOnConflict(ConflictPolicy.SKIP).withVerify(true));
        assertThat(skipped.outcome()).isEqualTo(RollbackResult.Outcome.PARTIALLY_ROLLED_BACK);
        assertThat(TableState.rows(DB.dsl(), "shop.customers"))
                .isEqualTo("(1,a@x,10.00)\n(2,b@x,41.00)\n(3,c@x,30.00)");

        reverser.rollback("fix_balances", RollbackOptions.defaults().withOnConflict(ConflictPolicy.FORCE));
        assertThat(TableState.rows(DB.dsl(), "shop.customers"))
                .isEqualTo("(1,a@x,10.00)\n(2,b@x,20.00)\n(3,c@x,30.00)");
    }
}
