package org.etlrollback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.ServerSocket;
import java.util.List;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** track and untrack through the facade. */
class TrackIT {
    private static final TestDatabase DB = TestDatabase.forClass(TrackIT.class);
    private static final EtlRollback ETL_ROLLBACK = EtlRollback.configure().dataSource(DB.dataSource()).load();

    @BeforeAll
    static void createTables() {
        DB.dsl().execute("""
                CREATE SCHEMA sales;
                CREATE TABLE sales.products (id int PRIMARY KEY, name text);
                CREATE TABLE sales.prices (product_id int NOT NULL, valid_from date NOT NULL, price numeric,
                                           UNIQUE (product_id, valid_from));
                CREATE TABLE sales.audit (at timestamptz, note text);
                CREATE TABLE public."Mixed Case" (id int PRIMARY KEY);
                CREATE TABLE sales.accounts (id int PRIMARY KEY, code text NOT NULL UNIQUE);
                CREATE TABLE sales.cards (id int PRIMARY KEY,
                                          account_id int REFERENCES sales.accounts ON DELETE CASCADE);
                CREATE TABLE sales.statements (id int PRIMARY KEY,
                                               account_code text REFERENCES sales.accounts (code)
                                                                 ON UPDATE SET NULL);
                CREATE TABLE sales.payments (id int PRIMARY KEY, account_id int REFERENCES sales.accounts)""");
    }

    private static List<String> trackedTables() {
        return DB.dsl().fetch("SELECT table_name FROM etl_rollback.tracked_tables ORDER BY 1").getValues(0, String.class);
    }

    private static void assertFailure(Runnable action, String... messageParts) {
        assertThatThrownBy(action::run)
                .isInstanceOfSatisfying(EtlRollbackException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.FAILED))
                .satisfies(e -> assertThat(e.getMessage()).contains(messageParts));
    }

    @Test
    void trackReturnsSchemaQualifiedNamesInTheOrderAsked() {
        TrackResult result = ETL_ROLLBACK.track("sales.prices", "public.\"Mixed Case\"", "sales.products");

        assertThat(result.tables()).containsExactly("sales.prices", "public.\"Mixed Case\"", "sales.products");
        assertThat(trackedTables()).contains("sales.prices", "sales.products", "public.\"Mixed Case\"");

        UntrackResult untracked = ETL_ROLLBACK.untrack("sales.prices", "public.\"Mixed Case\"", "sales.products");
        assertThat(untracked.tables()).containsExactlyElementsOf(result.tables());
        assertThat(trackedTables()).isEmpty();
    }

    @Test
    void trackingATableWarnsOfEachUntrackedTableWhoseForeignKeyActionsItsChangesWouldFire() {
        TrackResult alone = ETL_ROLLBACK.track("sales.accounts");
        ETL_ROLLBACK.untrack("sales.accounts");
        TrackResult together = ETL_ROLLBACK.track("sales.accounts", "sales.cards", "sales.statements");
        ETL_ROLLBACK.untrack("sales.accounts", "sales.cards", "sales.statements");

        // sales.payments refers without an action: a delete it refers to fails rather than changing it
        assertThat(alone.warnings()).containsExactly(
                "sales.cards refers to sales.accounts by foreign key cards_account_id_fkey (ON DELETE CASCADE) and is"
                        + " not tracked: what that action does to its rows in a migration is not logged, and no"
                        + " rollback restores it. Track sales.cards too.",
                "sales.statements refers to sales.accounts by foreign key statements_account_code_fkey (ON UPDATE SET"
                        + " NULL) and is not tracked: what that action does to its rows in a migration is not logged,"
                        + " and no rollback restores it. Track sales.statements too.");
        assertThat(together.warnings()).isEmpty();
    }

    @Test
    void trackingSeveralTablesIsAllOrNothing() {
        assertFailure(() -> ETL_ROLLBACK.track("sales.products", "sales.audit"),
                "track: table sales.audit has neither a primary key nor a unique key", "Nothing was tracked",
                DB.url());
        assertThat(trackedTables()).doesNotContain("sales.products", "sales.audit");
    }

    @Test
    void untrackingSeveralTablesIsAllOrNothing() {
        ETL_ROLLBACK.track("sales.products");
        assertFailure(() -> ETL_ROLLBACK.untrack("sales.products", "sales.audit"),
                "sales.audit", "is not tracked", "Nothing was untracked");
        assertThat(trackedTables()).contains("sales.products");
        ETL_ROLLBACK.untrack("sales.products");
    }

    @Test
    void aMissingTableIsNamed() {
        assertFailure(() -> ETL_ROLLBACK.track("sales.nowhere"), "sales.nowhere", "does not exist");
    }

    @Test
    void anUnreachableServerIsNamedWithWhatToCheck() throws IOException {
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        EtlRollback unreachable = EtlRollback.configure().url("jdbc:postgresql://localhost:" + port + "/shop")
                .user("etl").password("Secret-4").load();
        for (Runnable action : List.<Runnable>of(unreachable::install, () -> unreachable.track("t"),
                () -> unreachable.untrack("t"))) {
            assertFailure(action, "cannot connect to jdbc:postgresql://localhost:" + port + "/shop as etl",
                    "Check that the server is running");
        }
    }
}
