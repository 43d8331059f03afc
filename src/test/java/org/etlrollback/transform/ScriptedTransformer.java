package org.etlrollback.transform;

import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import javax.sql.DataSource;

/** A transformer whose run is given by the test. */
final class ScriptedTransformer extends Transformer {
    /** The body of a run, with the transformer for checkpoints and rollbacks. */
    @FunctionalInterface
    interface Body {
        void run(ScriptedTransformer transformer, Connection connection) throws Exception;
    }

    private final List<String> tables;
    private final Body body;
    int runs;

    ScriptedTransformer(DataSource dataSource, RollbackConfig config, String migrationId, List<String> tables,
                        Body body) {
        super(dataSource, config, migrationId);
        this.tables = tables;
        this.body = body;
    }

    /** A body that runs SQL statements, then throws {@code failure} unless it is null. */
    static Body sql(String statements, Exception failure) {
        return (t, c) -> {
            execute(c, statements);
            if (failure != null) {
                throw failure;
            }
        };
    }

    static void execute(Connection connection, String statements) throws java.sql.SQLException {
        try (Statement s = connection.createStatement()) {
            s.execute(statements);
        }
    }

    @Override
    protected List<String> affectedTables() {
        return tables;
    }

    @Override
    protected void run(Connection connection) throws Exception {
        runs++;
        body.run(this, connection);
    }

    Checkpoint checkpoint(String name) {
        return createCheckpoint(name);
    }
}
