package dev.torpor.scheduler.internal;

import dev.torpor.Signal;
import dev.torpor.WakeReason;
import dev.torpor.scheduler.Wakeup;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.Optional;

/**
 * The signal mailbox: a signal is a row, pending until a wake claims it (oldest first per name) in
 * the transaction that moves the workflow to RUNNING, and given back if that wake fails.
 */
final class Mailbox {
  private Mailbox() {}

  /** A signal taken from the mailbox, and its row number. */
  record Claimed(long n, Signal signal) {}

  /** Takes the oldest pending signal of that name, for the wake to image {@code seq}. */
  static Optional<Claimed> claim(Connection c, String workflowId, String name, long seq) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT n, payload, received_at FROM torpor_signal"
        + " WHERE workflow_id = ? AND name = ? AND delivered_seq IS NULL ORDER BY n LIMIT 1")) {
      ps.setString(1, workflowId);
      ps.setString(2, name);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return Optional.empty();
        }
        long n = rs.getLong(1);
        Signal s = new Signal(name, rs.getBytes(2), Instant.ofEpochMilli(rs.getLong(3)));
        try (PreparedStatement up = c.prepareStatement("UPDATE torpor_signal SET delivered_seq = ? WHERE n = ?")) {
          up.setLong(1, seq);
          up.setLong(2, n);
          up.executeUpdate();
        }
        return Optional.of(new Claimed(n, s));
      }
    }
  }

  /** What a recovered segment is woken with: what its last wake gave it, the same signal included. */
  static Wakeup recoveredWakeup(Connection c, WorkflowRow w) throws SQLException {
    WakeReason reason = w.lastWakeReason == null ? WakeReason.TIMER : WakeReason.valueOf(w.lastWakeReason);
    if (w.lastWakeSignal == null) {
      return Wakeup.of(reason);
    }
    try (PreparedStatement ps = c.prepareStatement("SELECT name, payload, received_at FROM torpor_signal WHERE n = ?")) {
      ps.setLong(1, w.lastWakeSignal);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return Wakeup.of(reason);
        }
        return new Wakeup(reason, Optional.of(new Signal(rs.getString(1), rs.getBytes(2), Instant.ofEpochMilli(rs.getLong(3)))));
      }
    }
  }

  /** The signal a failed wake had claimed goes back to the mailbox, for the next wake. */
  static void giveBack(Connection c, WorkflowRow w, Wakeup wakeup) throws SQLException {
    if (wakeup.signal().isPresent() && w.lastWakeSignal != null) {
      try (PreparedStatement ps = c.prepareStatement("UPDATE torpor_signal SET delivered_seq = NULL WHERE n = ?")) {
        ps.setLong(1, w.lastWakeSignal);
        ps.executeUpdate();
      }
    }
  }

  /** Whether a signal of that name waits in the mailbox. */
  static boolean hasPending(Connection c, String id, String name) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT 1 FROM torpor_signal WHERE workflow_id = ? AND name = ? AND delivered_seq IS NULL")) {
      ps.setString(1, id);
      ps.setString(2, name);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    }
  }
}
