package dev.torpor.scheduler.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Map;

/** A workflow's history: what happened to it, in order, appended in the transaction that did it. */
final class History {
  private History() {}

  static void record(Connection c, String id, String type, long seq, Map<String, Object> details)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(
        "INSERT INTO torpor_history (workflow_id, at, type, seq, details) VALUES (?, ?, ?, ?, ?)")) {
      ps.setString(1, id);
      ps.setLong(2, System.currentTimeMillis());
      ps.setString(3, type);
      ps.setLong(4, seq);
      ps.setString(5, Json.write(details));
      ps.executeUpdate();
    }
    Sql.committedHistory(type);
  }
}
