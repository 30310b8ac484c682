package dev.torpor.scheduler.internal;

import dev.torpor.PendingWait;
import dev.torpor.Signal;
import dev.torpor.WaitKind;
import dev.torpor.WakeReason;
import dev.torpor.scheduler.Wakeup;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The signal mailbox: a signal is a row, pending until a wake claims it (oldest first per name) in
 * the transaction that moves the workflow to RUNNING, and given back if that wake fails.
 */
final class Mailbox {
  private Mailbox() {}

  /**
   * How many payload bytes one wake carries at most when it brings several signals (one signal
   * always goes, up to the 1 MiB a signal may have): the wake must fit the protocol's frame.
   */
  static final long WAKE_PAYLOAD_BUDGET = 1 << 20;

  /** A signal taken from the mailbox, and its row number. */
  record Claimed(long n, Signal signal) {}

  /**
   * Takes, for each signal wait of {@code waits} in order, the oldest pending signal whose name it
   * accepts, for the wake to image {@code seq}; returned oldest first. The workflow's JVM hands
   * them out by the same rule, so each reaches the wait it was claimed for.
   */
  static List<Claimed> claimFor(Connection c, String workflowId, List<PendingWait> waits, long seq) throws SQLException {
    List<Claimed> out = new ArrayList<>();
    long bytes = 0;
    for (PendingWait w : waits) {
      if (w.kind() == WaitKind.SIGNAL) {
        Optional<Claimed> s = claim(c, workflowId, w.signals(), seq, out.isEmpty() ? Long.MAX_VALUE : WAKE_PAYLOAD_BUDGET - bytes);
        if (s.isPresent()) {
          out.add(s.get());
          bytes += s.get().signal().payload().length;
        }
      }
    }
    out.sort(Comparator.comparingLong(Claimed::n));
    return out;
  }

  /** The signals of claimed rows, in order. */
  static List<Signal> signals(List<Claimed> claimed) {
    return claimed.stream().map(Claimed::signal).toList();
  }

  /** The mailbox rows of claimed signals, in order. */
  static List<Long> rows(List<Claimed> claimed) {
    return claimed.stream().map(Claimed::n).toList();
  }

  /**
   * Takes the oldest pending signal named any of {@code names}, for the wake to image {@code seq},
   * unless its payload is larger than {@code room} bytes: it then stays for the next wake.
   */
  private static Optional<Claimed> claim(Connection c, String workflowId, List<String> names, long seq, long room)
      throws SQLException {
    String in = String.join(", ", java.util.Collections.nCopies(names.size(), "?"));
    try (PreparedStatement ps = c.prepareStatement("SELECT n, payload, received_at, name FROM torpor_signal"
        + " WHERE workflow_id = ? AND name IN (" + in + ") AND delivered_seq IS NULL ORDER BY n LIMIT 1")) {
      ps.setString(1, workflowId);
      for (int i = 0; i < names.size(); i++) {
        ps.setString(2 + i, names.get(i));
      }
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return Optional.empty();
        }
        long n = rs.getLong(1);
        Signal s = new Signal(rs.getString(4), rs.getBytes(2), Instant.ofEpochMilli(rs.getLong(3)));
        if (s.payload().length > room) {
          return Optional.empty();
        }
        try (PreparedStatement up = c.prepareStatement("UPDATE torpor_signal SET delivered_seq = ? WHERE n = ?")) {
          up.setLong(1, seq);
          up.setLong(2, n);
          up.executeUpdate();
        }
        return Optional.of(new Claimed(n, s));
      }
    }
  }

  /** What a recovered segment is woken with: what its last wake gave it, the same signals included. */
  static Wakeup recoveredWakeup(Connection c, WorkflowRow w) throws SQLException {
    WakeReason reason = w.lastWakeReason == null ? WakeReason.TIMER : WakeReason.valueOf(w.lastWakeReason);
    List<Signal> signals = new ArrayList<>();
    for (long n : w.lastWakeSignals) {
      try (PreparedStatement ps = c.prepareStatement("SELECT name, payload, received_at FROM torpor_signal WHERE n = ?")) {
        ps.setLong(1, n);
        try (ResultSet rs = ps.executeQuery()) {
          if (rs.next()) {
            signals.add(new Signal(rs.getString(1), rs.getBytes(2), Instant.ofEpochMilli(rs.getLong(3))));
          }
        }
      }
    }
    if (signals.isEmpty() && reason == WakeReason.SIGNAL) {
      reason = WakeReason.TIMER; // a wake must bring the signal it names; none is left to bring
    }
    return new Wakeup(reason, signals);
  }

  /** The signals a failed wake had claimed go back to the mailbox, for the next wake. */
  static void giveBack(Connection c, WorkflowRow w, Wakeup wakeup) throws SQLException {
    if (wakeup.signals().isEmpty()) {
      return;
    }
    for (long n : w.lastWakeSignals) {
      try (PreparedStatement ps = c.prepareStatement("UPDATE torpor_signal SET delivered_seq = NULL WHERE n = ?")) {
        ps.setLong(1, n);
        ps.executeUpdate();
      }
    }
  }

  /** Whether a signal that any of {@code waits} accepts waits in the mailbox. */
  static boolean hasPending(Connection c, String id, List<PendingWait> waits) throws SQLException {
    List<String> names = waits.stream().flatMap(w -> w.kind() == WaitKind.SIGNAL ? w.signals().stream() : java.util.stream.Stream.empty())
        .distinct().toList();
    if (names.isEmpty()) {
      return false;
    }
    String in = String.join(", ", java.util.Collections.nCopies(names.size(), "?"));
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT 1 FROM torpor_signal WHERE workflow_id = ? AND name IN (" + in + ") AND delivered_seq IS NULL")) {
      ps.setString(1, id);
      for (int i = 0; i < names.size(); i++) {
        ps.setString(2 + i, names.get(i));
      }
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    }
  }
}
