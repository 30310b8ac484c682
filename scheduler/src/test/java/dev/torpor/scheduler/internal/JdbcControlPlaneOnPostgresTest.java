package dev.torpor.scheduler.internal;

import dev.torpor.scheduler.ControlPlaneConfig;
import dev.torpor.scheduler.ControlPlaneContract;
import dev.torpor.scheduler.PostgresProcess;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The control plane contract on a real PostgreSQL server: one server for the class (starting one
 * takes seconds), a new database for every test (a few milliseconds).
 */
class JdbcControlPlaneOnPostgresTest extends ControlPlaneContract<JdbcControlPlane> {
  private static PostgresProcess pg;
  private static final AtomicInteger databases = new AtomicInteger();

  @BeforeAll
  static void startPostgres() throws Exception {
    pg = new PostgresProcess();
  }

  @AfterAll
  static void stopPostgres() throws Exception {
    if (pg != null) {
      pg.close();
    }
  }

  @Override
  protected Fixture<JdbcControlPlane> fixture(Path dir) throws Exception {
    String name = "contract_" + databases.incrementAndGet();
    try (Connection c = DriverManager.getConnection(pg.jdbcUrl(), "postgres", null); Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + name);
    }
    String url = pg.jdbcUrl().substring(0, pg.jdbcUrl().lastIndexOf('/') + 1) + name;
    return new JdbcContractFixture(new ControlPlaneConfig(url, "postgres", null, dir, dir.resolve("logs"), 4,
        ControlPlaneContract.RETRY_DELAY), true);
  }
}
