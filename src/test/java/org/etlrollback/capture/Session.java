package org.etlrollback.capture;

import static org.assertj.core.api.Assertions.fail;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * One database session as the capture tests drive it: run statements, read single values, and read
 * back what the capture logged, with jsonb images in PostgreSQL's canonical text form so that they
 * compare exactly.
 */
final class Session implements AutoCloseable {

    /** One row of etl_rollback.changes, images as canonical jsonb text (null where the view has null). */
    record Change(String table, String op, String pk, String oldRow, String newRow) {
    }

    private final Connection connection;

    Session(Connection connection) {
        this.connection = connection;
    }

    Connection connection() {
        return connection;
    }

    /** Runs each statement in turn. */
    Session exec(String... statements) throws SQLException {
        try (Statement s = connection.createStatement()) {
            for (String sql : statements) {
                s.execute(sql);
            }
        }
        return this;
    }

    /** Runs one statement with bind parameters; returns the number of rows it changed. */
    int update(String sql, Object... args) throws SQLException {
        try (PreparedStatement ps = prepare(sql, args)) {
            return ps.executeUpdate();
        }
    }

    /** Tags the session for the rest of its life (SET etl_rollback.migration_id). */
    Session tag(String migrationId) throws SQLException {
        query("select set_config('etl_rollback.migration_id', ?, false)", migrationId);
        return this;
    }

    /** The first column of every row, as text. */
    List<String> column(String sql, Object... args) throws SQLException {
        List<String> values = new ArrayList<>();
        for (List<String> row : query(sql, args)) {
            values.add(row.get(0));
        }
        return values;
    }

    /** The one value of a query that returns one row. */
    String text(String sql, Object... args) throws SQLException {
        List<List<String>> rows = query(sql, args);
        if (rows.size() != 1) {
            fail("expected one row from %s, got %s", sql, rows);
        }
        return rows.get(0).get(0);
    }

    long number(String sql, Object... args) throws SQLException {
        return Long.parseLong(text(sql, args));
    }

    /** Every row, every column as text. */
    List<List<String>> query(String sql, Object... args) throws SQLException {
        try (PreparedStatement ps = prepare(sql, args); ResultSet rs = ps.executeQuery()) {
            int columns = rs.getMetaData().getColumnCount();
            List<List<String>> rows = new ArrayList<>();
            while (rs.next()) {
                List<String> row = new ArrayList<>(columns);
                for (int i = 1; i <= columns; i++) {
                    row.add(rs.getString(i));
                }
                rows.add(row);
            }
            return rows;
        }
    }

    /** Runs a statement that must fail, and returns how it failed. */
    SQLException error(String sql, Object... args) {
        try (PreparedStatement ps = prepare(sql, args)) {
            ps.execute();
        } catch (SQLException e) {
            return e;
        }
        return fail("expected %s to fail", sql);
    }

    /** A json text in PostgreSQL's canonical jsonb form. */
    String jsonb(String json) throws SQLException {
        return text("select ?::jsonb::text", json);
    }

    /** The changes logged under one migration id, in seq order. */
    List<Change> changes(String migrationId) throws SQLException {
        List<Change> changes = new ArrayList<>();
        for (List<String> row : query("select table_name, op, pk::text, old_row::text, new_row::text"
                + " from etl_rollback.changes where migration_id = ? order by seq", migrationId)) {
            changes.add(new Change(row.get(0), row.get(1), row.get(2), row.get(3), row.get(4)));
        }
        return changes;
    }

    Change inserted(String table, String pk, String newRow) throws SQLException {
        return new Change(table, "INSERT", jsonb(pk), null, jsonb(newRow));
    }

    Change updated(String table, String pk, String oldRow, String newRow) throws SQLException {
        return new Change(table, "UPDATE", jsonb(pk), jsonb(oldRow), jsonb(newRow));
    }

    Change deleted(String table, String pk, String oldRow) throws SQLException {
        return new Change(table, "DELETE", jsonb(pk), jsonb(oldRow), null);
    }

    Change truncated(String table, String pk, String oldRow) throws SQLException {
        return new Change(table, "TRUNCATE", jsonb(pk), jsonb(oldRow), null);
    }

    private PreparedStatement prepare(String sql, Object... args) throws SQLException {
        PreparedStatement ps = connection.prepareStatement(sql);
        try {
            for (int i = 0; i < args.length; i++) {
                ps.setObject(i + 1, args[i]);
            }
        } catch (SQLException e) {
            ps.close();
            throw e;
        }
        return ps;
    }

    @Override
    public void close() throws SQLException {
        connection.close();
    }
}
