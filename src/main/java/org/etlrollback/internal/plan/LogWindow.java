package org.etlrollback.internal.plan;

import static org.etlrollback.internal.schema.Tables.STATEMENT;
import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.name;
import static org.jooq.impl.DSL.select;
import static org.jooq.impl.DSL.selectOne;

import org.jooq.Condition;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.Record2;

/**
 * The part of a migration's log a rollback undoes: the rows of its statements numbered in {@code (fromSeq, uptoSeq]}.
 */
public record LogWindow(int mig, long fromSeq, long uptoSeq) {

    /**
     * The log rows of the migration's statements on one table in the window, for a log aliased {@code l}. The range
     * of the migration's statement numbers bounds the read to one range of the log's index however large the log
     * is; where no other migration wrote the table within that range, as is usual, the range alone is the
     * migration's rows, and they are read without a lookup of each of its statements.
     */
    public Condition rows(DSLContext dsl, TableSql sql) {
        Field<Long> stmt = field(name("l", "stmt"), Long.class);
        Field<Long> seq = field(name("l", "seq"), Long.class);
        Condition ofTable = STATEMENT.TABLE_ID.eq(sql.table().tableId()).and(STATEMENT.STMT.le(uptoSeq));
        Condition ofStatements = STATEMENT.MIG.eq(mig).and(ofTable);
        // the first and the last by the index on (mig, table_id, stmt), whatever the statistics say
        Record2<Long, Long> range = dsl.select(
                        field(select(STATEMENT.STMT).from(STATEMENT).where(ofStatements)
                                .orderBy(STATEMENT.STMT).limit(1)),
                        field(select(STATEMENT.STMT).from(STATEMENT).where(ofStatements)
                                .orderBy(STATEMENT.STMT.desc()).limit(1)))
                .fetchSingle();
        Condition rows = stmt.between(range.value1(), range.value2()).and(seq.gt(fromSeq)).and(seq.le(uptoSeq));
        boolean shared = dsl.fetchExists(selectOne().from(STATEMENT)
                .where(STATEMENT.STMT.between(range.value1(), range.value2()))
                .and(ofTable).and(STATEMENT.MIG.ne(mig)));
        return shared ? rows.and(stmt.in(select(STATEMENT.STMT).from(STATEMENT).where(ofStatements))) : rows;
    }
}
