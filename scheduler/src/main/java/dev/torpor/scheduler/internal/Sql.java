package dev.torpor.scheduler.internal;

import dev.torpor.TorporException;
import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;

/** Runs a unit of work in one transaction, retrying a serialization failure or deadlock. */
final class Sql {
  interface Work<T> {
    T run(Connection c) throws SQLException;
  }

  private final DataSource ds;

  Sql(DataSource ds) {
    this.ds = ds;
  }

  <T> T tx(Work<T> work) {
    SQLException last = null;
    for (int attempt = 0; attempt < 5; attempt++) {
      try (Connection c = ds.getConnection()) {
        c.setAutoCommit(false);
        try {
          T result = work.run(c);
          c.commit();
          return result;
        } catch (SQLException | RuntimeException e) {
          c.rollback();
          throw e;
        }
      } catch (SQLException e) {
        last = e;
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        // 40001 serialization failure, 40P01 deadlock (PostgreSQL), HYT00 lock timeout (H2)
        if (!state.equals("40001") && !state.equals("40P01") && !state.equals("HYT00")) {
          break;
        }
      }
    }
    throw new TorporException("registry database error: " + last.getMessage(), last);
  }
}
