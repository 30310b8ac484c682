package dev.torpor.scheduler.internal;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.torpor.TorporException;
import dev.torpor.scheduler.ControlPlaneConfig;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;

/**
 * The registry's database: one HikariCP pool, shared with Quartz, and the schema: Torpor's
 * tables by versioned migrations ({@link Migrations}), Quartz's own created when missing. H2 and
 * PostgreSQL differ only in a few column types and Quartz's delegate. With {@code
 * -Dtorpor.db.statementCounts=FILE} the connections of both pools are counted ({@link
 * StatementCounter}, for the benchmarks); without it the pools are handed out as they are.
 */
public final class Database implements AutoCloseable {
  private final HikariDataSource pool;
  /** The pool, or the pool with its statements counted when {@link StatementCounter#PROPERTY} asks. */
  private final DataSource dataSource;
  private final StatementCounter counter;
  private final boolean postgres;
  private final HikariConfig settings;
  private HikariDataSource leasePool;

  public Database(ControlPlaneConfig config) {
    postgres = config.jdbcUrl().startsWith("jdbc:postgresql:");
    HikariConfig hc = new HikariConfig();
    hc.setJdbcUrl(config.jdbcUrl());
    if (config.user() != null) {
      hc.setUsername(config.user());
    }
    if (config.password() != null) {
      hc.setPassword(config.password());
    }
    hc.setMaximumPoolSize(12);
    hc.setPoolName("torpor");
    hc.setInitializationFailTimeout(10_000);
    // A database that went away (a PostgreSQL restart) is waited for by Sql's retries, a few
    // seconds per attempt, rather than by one 30 s wait for a connection.
    hc.setConnectionTimeout(5_000);
    if (postgres) {
      // A node that stalls inside a transaction (a GC pause, SIGSTOP, a frozen VM) would hold its
      // row locks, Quartz's cluster lock among them, until it runs again, and stop the whole
      // cluster: PostgreSQL ends such a session after 5 s, well within a worker's lease.
      hc.setConnectionInitSql("SET idle_in_transaction_session_timeout = '5s'");
    }
    settings = hc;
    counter = StatementCounter.fromSystemProperty();
    try {
      pool = new HikariDataSource(hc);
    } catch (RuntimeException e) {
      throw new TorporException("cannot open the database at " + config.jdbcUrl() + ": " + rootMessage(e)
          + (postgres ? " (is PostgreSQL running, and are the URL, user and password right?)" : ""), e);
    }
    try {
      createSchema(config.jdbcUrl());
    } catch (SQLException | IOException e) {
      pool.close();
      throw new TorporException("cannot create the schema in " + config.jdbcUrl() + ": " + e.getMessage(), e);
    } catch (RuntimeException e) {
      pool.close();
      throw e;
    }
    dataSource = counter == null ? pool : counter.wrap(pool);
  }

  public DataSource dataSource() {
    return dataSource;
  }

  /**
   * Two connections of their own for a worker's lease renewals, so that a pool drained by work
   * waiting on a stalled node's locks cannot make a healthy worker miss its renewals and fence itself.
   */
  public synchronized DataSource leaseDataSource() {
    if (leasePool == null) {
      HikariConfig hc = new HikariConfig();
      settings.copyStateTo(hc);
      hc.setPoolName("torpor-lease");
      hc.setMaximumPoolSize(2);
      hc.setMinimumIdle(1);
      leasePool = new HikariDataSource(hc);
    }
    return counter == null ? leasePool : counter.wrap(leasePool);
  }

  /** A short name for this database, the same at every start: a hash of its URL. */
  public String identity() {
    try {
      byte[] h = java.security.MessageDigest.getInstance("SHA-256")
          .digest(settings.getJdbcUrl().getBytes(StandardCharsets.UTF_8));
      return java.util.HexFormat.of().formatHex(h, 0, 6);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }

  public boolean isPostgres() {
    return postgres;
  }

  /** Quartz's JDBC delegate for this database. */
  public String quartzDelegate() {
    return postgres ? "org.quartz.impl.jdbcjobstore.PostgreSQLDelegate" : "org.quartz.impl.jdbcjobstore.StdJDBCDelegate";
  }

  private void createSchema(String url) throws SQLException, IOException {
    new Migrations(postgres, url).apply(pool, quartzScript());
  }

  /** Quartz's own DDL for this database, from the Quartz jar, without its DROP statements. */
  private List<String> quartzScript() throws IOException {
    String name = postgres ? "tables_postgres.sql" : "tables_h2.sql";
    String script;
    try (InputStream in = org.quartz.impl.jdbcjobstore.JobStoreTX.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IOException("Quartz's " + name + " is missing from its jar");
      }
      script = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    StringBuilder clean = new StringBuilder();
    for (String line : script.split("\n")) {
      String t = line.trim();
      if (!t.startsWith("--") && !t.startsWith("#") && !t.startsWith("//")) {
        clean.append(line).append('\n');
      }
    }
    List<String> out = new ArrayList<>();
    for (String stmt : clean.toString().split(";")) {
      String t = stmt.trim();
      String upper = t.toUpperCase(java.util.Locale.ROOT);
      if (!t.isEmpty() && !upper.startsWith("DROP") && !upper.equals("COMMIT") && !upper.startsWith("SET ")) {
        out.add(t);
      }
    }
    return out;
  }

  private static String rootMessage(Throwable t) {
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t.getMessage();
  }

  @Override
  public synchronized void close() {
    if (leasePool != null) {
      leasePool.close();
    }
    pool.close();
  }
}
