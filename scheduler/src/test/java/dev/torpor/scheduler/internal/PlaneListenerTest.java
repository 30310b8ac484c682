package dev.torpor.scheduler.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.torpor.scheduler.PlaneListener;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Test;

/** The metrics' view of history: events reach the listener once their transaction committed, and only then. */
class PlaneListenerTest {
  @Test
  void historyReachesTheListenerAfterItsCommitAndNeverFromARollback() {
    JdbcDataSource ds = new JdbcDataSource();
    ds.setURL("jdbc:h2:mem:listener-" + System.nanoTime() + ";DB_CLOSE_DELAY=-1");
    Sql sql = new Sql(ds);
    sql.tx(c -> {
      try (Statement s = c.createStatement()) {
        s.execute("CREATE TABLE torpor_history (n BIGINT AUTO_INCREMENT PRIMARY KEY, workflow_id VARCHAR(128), at BIGINT,"
            + " type VARCHAR(32), seq BIGINT, details CLOB)");
      }
      return null;
    });
    List<String> heard = new CopyOnWriteArrayList<>();
    sql.listener(new PlaneListener() {
      @Override
      public void history(String type) {
        heard.add(type);
      }

      @Override
      public void leaseRenewal(boolean ok) {
        heard.add("lease " + ok);
      }
    });

    sql.tx(c -> {
      History.record(c, "a", "SUBMITTED", 0, Map.of());
      assertThat(heard).as("not before the commit").isEmpty();
      History.record(c, "a", "STARTED", 0, Map.of());
      return null;
    });
    assertThat(heard).containsExactly("SUBMITTED", "STARTED");

    assertThatThrownBy(() -> sql.tx(c -> {
      History.record(c, "b", "COMPLETED", 1, Map.of());
      throw new IllegalStateException("rolled back");
    })).hasMessage("rolled back");
    assertThat(heard).as("a rolled-back event is not heard").containsExactly("SUBMITTED", "STARTED");

    sql.leaseRenewal(false);
    assertThat(heard).endsWith("lease false");
  }
}
