package dev.torpor.scheduler.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import dev.torpor.TorporException;
import dev.torpor.scheduler.ControlPlaneConfig;
import dev.torpor.scheduler.internal.StatementCounter.Counts;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The statement counts the control-plane benchmark reads (issue #12), on a real H2 registry. */
class StatementCounterTest {
  @TempDir
  Path dir;

  @AfterEach
  void clearProperty() {
    System.clearProperty(StatementCounter.PROPERTY);
  }

  @Test
  void offByDefaultThePoolIsHandedOutAsItIs() {
    try (Database db = new Database(ControlPlaneConfig.embedded(dir, dir.resolve("logs")))) {
      assertThat(db.dataSource()).isInstanceOf(HikariDataSource.class);
    }
  }

  @Test
  void countsEachStatementOnceByTableOwnerAndTransactionAndSetsIdlePollingApart() throws Exception {
    Path file = dir.resolve("counts");
    System.setProperty(StatementCounter.PROPERTY, file.toString());
    try (Database db = new Database(ControlPlaneConfig.embedded(dir, dir.resolve("logs")))) {
      Sql sql = new Sql(db.dataSource());
      Counts start = StatementCounter.read(file);
      assertThat(start).as("nothing yet: the schema is made on the pool itself").isEqualTo(new Counts(0, 0, 0, 0, 0, 0));

      sql.tx(c -> {
        try (PreparedStatement p = c.prepareStatement("SELECT COUNT(*) FROM torpor_workflow");
            ResultSet rs = p.executeQuery()) {
          rs.next();
        }
        try (Statement s = c.createStatement()) {
          s.executeUpdate("DELETE FROM torpor_worker WHERE id = 'nobody'");
          s.executeQuery("SELECT COUNT(*) FROM QRTZ_TRIGGERS").close();
        }
        try (PreparedStatement p = c.prepareStatement("INSERT INTO torpor_history (workflow_id, at, type, seq, details)"
            + " VALUES (?, 0, 'X', 0, '{}')")) {
          for (int i = 0; i < 3; i++) {
            p.setString(1, "w" + i);
            p.addBatch();
          }
          p.executeBatch();
        }
        return null;
      });
      Counts one = StatementCounter.read(file).minus(start);
      assertThat(one).isEqualTo(new Counts(5, 1, 1, 0, 0, 0));

      // A read on a polling thread (the API's) is idle; a write there counts.
      onThread("torpor-http-7", () -> sql.tx(c -> c.createStatement().executeQuery("SELECT 1 FROM torpor_worker")));
      onThread("torpor-http-8", () -> sql.tx(c -> c.createStatement().executeUpdate("DELETE FROM torpor_signal WHERE n = -1")));
      Counts two = StatementCounter.read(file).minus(start);
      assertThat(two).isEqualTo(new Counts(6, 1, 2, 0, 1, 1));

      // A rolled-back transaction is counted as such, its statements with the rest.
      assertThatThrownBy(() -> sql.tx(c -> {
        c.createStatement().executeUpdate("DELETE FROM torpor_log WHERE start_offset = -1");
        throw new SQLException("the work's own error", "22000");
      })).isInstanceOf(TorporException.class);
      assertThat(StatementCounter.read(file).minus(start)).isEqualTo(new Counts(7, 1, 2, 1, 1, 1));
    }
  }

  @Test
  void anUnwritableCountsFileIsRefusedSayingWhichProperty() {
    System.setProperty(StatementCounter.PROPERTY, dir.resolve("missing").resolve("counts").toString());
    assertThatThrownBy(() -> new Database(ControlPlaneConfig.embedded(dir, dir.resolve("logs"))))
        .isInstanceOf(TorporException.class)
        .hasMessageContaining("-D" + StatementCounter.PROPERTY)
        .hasMessageContaining("give a writable path");
  }

  private interface Work {
    Object run() throws Exception;
  }

  private static void onThread(String name, Work work) throws Exception {
    AtomicReference<Exception> failed = new AtomicReference<>();
    Thread t = new Thread(() -> {
      try {
        work.run();
      } catch (Exception e) {
        failed.set(e);
      }
    }, name);
    t.start();
    t.join();
    if (failed.get() != null) {
      throw failed.get();
    }
  }
}
