package org.etlrollback.proof;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.etlrollback.Reverser;
import org.etlrollback.RollbackOptions;
import org.etlrollback.RollbackResult;
import org.etlrollback.TestDatabase;
import org.junit.jupiter.api.Test;

/**
 * One row with a 100 MB bytea value of every byte value, captured when a migration replaces it and restored by the
 * rollback, bit for bit. Nothing of it passes through the JVM: capture, plan and restore run in the server; the test
 * compares digests.
 */
class LargeValueIT {
    private static final TestDatabase DB = TestDatabase.forClass(LargeValueIT.class);
    private static final long SIZE = 100L * 1024 * 1024;

    @Test
    void hundredMegabyteValueIsCapturedAndRestoredExactly() throws SQLException {
        DB.execute("""
                create schema big;
                create table big.blobs (id int primary key, name text, payload bytea);
                -- 6553600 digests of 16 bytes: 100 MiB that neither repeat nor compress
                insert into big.blobs
                select 1, 'large', decode(string_agg(md5(g::text), '' order by g), 'hex')
                  from generate_series(1, %d) g;
                insert into big.blobs values (2, 'small', '\\x00ff');
                select etl_rollback.track('big.blobs');
                """.formatted(SIZE / 16));
        String before = digest();
        assertThat(text("select length(payload)::text from big.blobs where id = 1")).isEqualTo(Long.toString(SIZE));

        DB.execute("""
                set etl_rollback.migration_id = 'shrink';
                update big.blobs set payload = '\\x01', name = 'shrunk' where id = 1;
                update big.blobs set payload = payload || '\\x02' where id = 2;
                """);
        assertThat(text("select length(o3)::text from etl_rollback.log_" + logId() + " where o1 = 1"))
                .isEqualTo(Long.toString(SIZE));

        RollbackResult result = Reverser.using(DB.dataSource()).rollback("shrink",
                RollbackOptions.defaults().withVerify(true));

        assertThat(result.outcome()).isEqualTo(RollbackResult.Outcome.ROLLED_BACK);
        assertThat(result.rowsRestored()).isEqualTo(2);
        assertThat(digest()).isEqualTo(before);
    }

    /** Per row: id, name, length and md5 of the payload. */
    private static String digest() throws SQLException {
        return text("select string_agg(id || ' ' || name || ' ' || length(payload) || ' ' || md5(payload), '; '"
                + " order by id) from big.blobs");
    }

    private static int logId() throws SQLException {
        return Integer.parseInt(text("select table_id::text from etl_rollback.tracked_table"
                + " where table_name = 'big.blobs'"));
    }

    private static String text(String query) throws SQLException {
        try (Connection c = DB.connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(query)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
