package dev.torpor.scheduler.internal;

import dev.torpor.PendingWait;
import dev.torpor.WaitKind;
import dev.torpor.scheduler.NotFoundException;
import dev.torpor.scheduler.WorkflowState;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The workflow table: a row read under its lock, and the one compare-and-set through which every
 * change of a workflow's state, seq, owner or wait goes. {@link #transition} applies a change only
 * if the row is still in the state, at the seq and with the owner its caller read, and says whether
 * it did: a caller that lost a race learns it and acts on it, whatever the isolation level.
 */
final class Registry {
  private Registry() {}

  private static final String COLUMNS = "id, state, seq, app_sha256, main_class, args, java_options,"
      + " wait_kind, wait_signal, wake_at, in_memory, last_wake_reason, last_wake_signal, wake_failures, owner, unrestorable,"
      + " env, waits, last_wake_signals";

  /** The workflow's row, locked for the rest of the transaction, or null if there is none. */
  static WorkflowRow lockIfExists(Connection c, String id) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM torpor_workflow WHERE id = ? FOR UPDATE")) {
      ps.setString(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return null;
        }
        WorkflowRow r = new WorkflowRow();
        r.id = rs.getString(1);
        r.state = WorkflowState.valueOf(rs.getString(2));
        r.seq = rs.getLong(3);
        r.appSha256 = rs.getString(4);
        r.mainClass = rs.getString(5);
        r.args = Json.strings(rs.getString(6));
        r.javaOptions = Json.strings(rs.getString(7));
        r.waitKind = rs.getString(8);
        r.waitSignal = rs.getString(9);
        r.wakeAt = rs.getObject(10, Long.class);
        r.inMemory = rs.getBoolean(11);
        r.lastWakeReason = rs.getString(12);
        Long lastWakeSignal = rs.getObject(13, Long.class);
        r.wakeFailures = rs.getInt(14);
        r.owner = rs.getString(15);
        r.unrestorable = rs.getBoolean(16);
        r.env = Json.stringMap(rs.getString(17));
        String waits = rs.getString(18);
        r.waits = waits != null ? Json.waits(waits) : legacyWait(r);
        String lastSignals = rs.getString(19);
        r.lastWakeSignals = lastSignals != null ? Json.longs(lastSignals)
            : lastWakeSignal == null ? List.of() : List.of(lastWakeSignal);
        return r;
      }
    }
  }

  /** The wait of a row written before wait sets: its one wait, from the summary columns. */
  private static List<PendingWait> legacyWait(WorkflowRow r) {
    if (r.waitKind == null) {
      return List.of();
    }
    return PendingWait.single(WaitKind.valueOf(r.waitKind), Optional.ofNullable(r.wakeAt).map(Instant::ofEpochMilli),
        Optional.ofNullable(r.waitSignal), "");
  }

  /** The workflow's row, locked; a {@link NotFoundException} if there is none. */
  static WorkflowRow lock(Connection c, String id) throws SQLException {
    WorkflowRow r = lockIfExists(c, id);
    if (r == null) {
      throw notFound(id);
    }
    return r;
  }

  /** {@link Registry#transition}, for a change that cannot lose a race: its row is locked in this transaction. */
  static void apply(Connection c, WorkflowRow w, Registry.Change change) throws SQLException {
    if (!transition(c, w, change)) {
      throw new IllegalStateException("workflow " + w.id + " changed under its row lock (" + w.state + ", seq " + w.seq
          + ", owner " + w.owner + "): the database does not honour SELECT ... FOR UPDATE");
    }
  }

  static NotFoundException notFound(String id) {
    return new NotFoundException("no workflow with id " + id + ": `torpor list` shows the known ones");
  }

  /**
   * Applies {@code change} to the workflow of {@code from} if its row still has {@code from}'s
   * state, seq and owner; returns whether it did. {@code from} is updated to what was written.
   */
  static boolean transition(Connection c, WorkflowRow from, Change change) throws SQLException {
    StringBuilder sql = new StringBuilder("UPDATE torpor_workflow SET ");
    for (String column : change.values.keySet()) {
      sql.append(column).append(" = ?, ");
    }
    sql.append("updated_at = ? WHERE id = ? AND state = ? AND seq = ? AND ")
        .append(from.owner == null ? "owner IS NULL" : "owner = ?");
    try (PreparedStatement ps = c.prepareStatement(sql.toString())) {
      int i = 1;
      for (Map.Entry<String, Object> v : change.values.entrySet()) {
        Object value = v.getValue();
        if (value == null) {
          ps.setNull(i++, Change.TYPES.get(v.getKey()));
        } else {
          ps.setObject(i++, value);
        }
      }
      ps.setLong(i++, System.currentTimeMillis());
      ps.setString(i++, from.id);
      ps.setString(i++, from.state.name());
      ps.setLong(i++, from.seq);
      if (from.owner != null) {
        ps.setString(i, from.owner);
      }
      if (ps.executeUpdate() != 1) {
        return false;
      }
    }
    change.applyTo(from);
    return true;
  }

  /** What a {@link #transition} writes: only the columns set here change. */
  static final class Change {
    private static final Map<String, Integer> TYPES = Map.ofEntries(
        Map.entry("state", Types.VARCHAR), Map.entry("seq", Types.BIGINT), Map.entry("owner", Types.VARCHAR),
        Map.entry("wait_kind", Types.VARCHAR), Map.entry("wait_signal", Types.VARCHAR), Map.entry("wake_at", Types.BIGINT),
        Map.entry("in_memory", Types.BOOLEAN), Map.entry("unrestorable", Types.BOOLEAN),
        Map.entry("last_wake_reason", Types.VARCHAR), Map.entry("last_wake_signal", Types.BIGINT),
        Map.entry("wake_failures", Types.INTEGER), Map.entry("error", Types.VARCHAR), Map.entry("exit_code", Types.INTEGER),
        Map.entry("stack", Types.VARCHAR), Map.entry("image_bytes", Types.BIGINT), Map.entry("packed_bytes", Types.BIGINT),
        Map.entry("waits", Types.VARCHAR), Map.entry("last_wake_signals", Types.VARCHAR));

    private final Map<String, Object> values = new LinkedHashMap<>();

    private Change() {}

    static Change to() {
      return new Change();
    }

    private Change set(String column, Object value) {
      values.put(column, value);
      return this;
    }

    Change state(WorkflowState s) {
      return set("state", s.name());
    }

    Change seq(long seq) {
      return set("seq", seq);
    }

    /** The worker whose lease covers the running segment (or the wait in its memory); null for none. */
    Change owner(String owner) {
      return set("owner", owner);
    }

    /**
     * What the workflow waits for: the set, and its summary (the kind it is listed under, the
     * first signal name, the earliest deadline); empty: nothing (a savepoint ended the waits).
     */
    Change waits(List<PendingWait> waits) {
      if (waits.isEmpty()) {
        return set("wait_kind", null).set("wait_signal", null).set("wake_at", null).set("waits", null);
      }
      return set("wait_kind", PendingWait.summary(waits).name())
          .set("wait_signal", waits.stream().flatMap(w -> w.signals().stream()).findFirst().orElse(null))
          .set("wake_at", PendingWait.earliest(waits).map(Instant::toEpochMilli).orElse(null))
          .set("waits", Json.writeWaits(waits));
    }

    Change inMemory(boolean inMemory) {
      return set("in_memory", inMemory);
    }

    Change unrestorable(boolean unrestorable) {
      return set("unrestorable", unrestorable);
    }

    /** Why the running segment was woken, and the mailbox rows of the signals it was given. */
    Change lastWake(String reason, List<Long> signalRows) {
      return set("last_wake_reason", reason).set("last_wake_signal", signalRows.isEmpty() ? null : signalRows.get(0))
          .set("last_wake_signals", Json.write(signalRows));
    }

    Change wakeFailures(int n) {
      return set("wake_failures", n);
    }

    Change outcome(Integer exitCode, String error) {
      return set("exit_code", exitCode).set("error", error);
    }

    Change error(String error) {
      return set("error", error);
    }

    /** Kept as they are where null: the stack and sizes of the newest image, when reported. */
    Change image(String stack, Long rawBytes, Long packedBytes) {
      if (stack != null) {
        set("stack", stack);
      }
      if (rawBytes != null) {
        set("image_bytes", rawBytes);
      }
      if (packedBytes != null) {
        set("packed_bytes", packedBytes);
      }
      return this;
    }

    private void applyTo(WorkflowRow r) {
      values.forEach((column, v) -> {
        switch (column) {
          case "state" -> r.state = WorkflowState.valueOf((String) v);
          case "seq" -> r.seq = (Long) v;
          case "owner" -> r.owner = (String) v;
          case "wait_kind" -> r.waitKind = (String) v;
          case "wait_signal" -> r.waitSignal = (String) v;
          case "wake_at" -> r.wakeAt = (Long) v;
          case "in_memory" -> r.inMemory = (Boolean) v;
          case "unrestorable" -> r.unrestorable = (Boolean) v;
          case "last_wake_reason" -> r.lastWakeReason = (String) v;
          case "last_wake_signals" -> r.lastWakeSignals = Json.longs((String) v);
          case "waits" -> r.waits = v == null ? List.of() : Json.waits((String) v);
          case "wake_failures" -> r.wakeFailures = (Integer) v;
          default -> { } // not part of the row as read
        }
      });
    }
  }
}
