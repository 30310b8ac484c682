package dev.torpor.examples.spring;

import dev.torpor.Durable;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;

/**
 * What not to do: one JDBC connection, opened with {@link DriverManager} and held across a
 * wait, with no hook to close and reopen it. The checkpoint closes its TCP connection, so the
 * query after the wait fails with the driver's I/O error; the workflow's log names the closed
 * connection just before. Arguments: JDBC URL, user.
 */
public final class PlainJdbcWorkflow {
  private PlainJdbcWorkflow() {}

  public static void main(String[] args) throws SQLException {
    try (Connection db = DriverManager.getConnection(args[0], args[1], "")) {
      System.out.println("before the wait: backend " + backend(db));
      Durable.waitFor(Duration.ofSeconds(2));
      System.out.println("after the wait: backend " + backend(db));
    }
  }

  private static int backend(Connection db) throws SQLException {
    try (Statement s = db.createStatement(); ResultSet r = s.executeQuery("SELECT pg_backend_pid()")) {
      r.next();
      return r.getInt(1);
    }
  }
}
