package dev.torpor.scheduler.internal;

import dev.torpor.WakeReason;
import dev.torpor.scheduler.CrashPoint;
import dev.torpor.scheduler.WorkerGateway;
import dev.torpor.scheduler.WorkflowState;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * What a crash leaves behind, found and set going again: at a single server's start, every
 * workflow that was running (its JVM died with the server) or whose timer is not in Quartz; in a
 * cluster, the workflows of workers whose leases expired; everywhere, the sweep for workflows past
 * due with no Quartz job (a scheduling call that failed after its change was committed, or a
 * process that died between the two).
 */
final class Recovery {
  /** The reason of a wake that resumes a recovered segment from its last image. */
  static final String RECOVER = "RECOVER";

  private final Sql sql;
  private final Timers timers;
  private final boolean clustered;
  private final Supplier<WorkerGateway> gateway;
  private final Supplier<Duration> sweepGrace;

  Recovery(Sql sql, Timers timers, boolean clustered, Supplier<WorkerGateway> gateway, Supplier<Duration> sweepGrace) {
    this.sql = sql;
    this.timers = timers;
    this.clustered = clustered;
    this.gateway = gateway;
    this.sweepGrace = sweepGrace;
  }


  void recover() {
    List<WorkflowRow> rows = sql.tx(c -> {
      List<WorkflowRow> out = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement("SELECT id FROM torpor_workflow WHERE state IN ('PENDING', 'RUNNING', 'SUSPENDED')");
          ResultSet rs = ps.executeQuery()) {
        List<String> ids = new ArrayList<>();
        while (rs.next()) {
          ids.add(rs.getString(1));
        }
        for (String id : ids) {
          out.add(Registry.lock(c, id));
        }
      }
      return out;
    });
    for (WorkflowRow w : rows) {
      if (w.state == WorkflowState.PENDING) {
        if (!timers.hasJobs(w.id)) {
          timers.dispatch(w.id, Instant.now());
        }
      } else if (w.state == WorkflowState.RUNNING || w.inMemory) {
        recoverLive(w);
      } else if (!timers.hasJobs(w.id)) {
        armWait(w); // its jobs survive in Quartz's tables unless their scheduling failed: one set is enough
      }
    }
  }

  /** Arms the wake of a frozen workflow: at once if its signal is in, else at its deadline, if any. */
  void armWait(WorkflowRow w) {
    if (w.waitKind == null) {
      // A savepoint's image whose wake failed: it wakes as the checkpoint it is, at once.
      timers.wake(w.id, w.seq, WakeReason.CHECKPOINT.name(), Instant.now());
    } else if (sql.tx(c -> Mailbox.hasPending(c, w.id, w.waits))) {
      timers.wake(w.id, w.seq, WakeReason.SIGNAL.name(), Instant.now());
    } else if (w.wakeAt != null) {
      // Idempotent re-arm: a duplicate of a trigger Quartz kept is fenced by seq. Whichever wait
      // is due, the JVM ends every wait due by then.
      timers.wake(w.id, w.seq, "SIGNAL".equals(w.waitKind) ? WakeReason.TIMEOUT.name() : WakeReason.TIMER.name(),
          Instant.ofEpochMilli(w.wakeAt));
    }
  }

  /**
   * Resumes, from their last image, the workflows whose owner is not a LIVE worker (its lease
   * expired, it was fenced, or it was an earlier incarnation): running segments and waits in
   * memory. A compare-and-set on the owner makes one node do it. Returns how many.
   */
  int recoverOrphans() {
    List<String> ids = sql.txOnce(c -> {
      List<String> out = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement("SELECT id FROM torpor_workflow WHERE owner IS NOT NULL"
          + " AND owner NOT IN (SELECT id FROM torpor_worker WHERE state = 'LIVE')");
          ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(rs.getString(1));
        }
      }
      return out;
    });
    int recovered = 0;
    for (String id : ids) {
      WorkflowRow w = sql.tx(c -> {
        WorkflowRow r = Registry.lockIfExists(c, id);
        if (r == null || r.owner == null || isLive(c, r.owner)) {
          return null;
        }
        if (r.state.isFinal()) {
          Registry.apply(c, r, Registry.Change.to().owner(null)); // cancelled while its worker was away: its JVM died with it
          return null;
        }
        return r;
      });
      if (w != null && (w.state == WorkflowState.RUNNING || w.inMemory) && recoverLive(w)) {
        recovered++;
      }
    }
    return recovered;
  }

  private static boolean isLive(Connection c, String workerId) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM torpor_worker WHERE id = ? AND state = 'LIVE'")) {
      ps.setString(1, workerId);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    }
  }

  /**
   * The safety net under Quartz: a workflow that should have been dispatched or woken a while ago
   * (by {@link #SWEEP_GRACE_MILLIS}) but has no job (its scheduling failed in a database outage
   * longer than the retries) gets one. Wakes are fenced by seq, so a duplicate does nothing.
   */
  int sweep() {
    long before = System.currentTimeMillis() - sweepGrace.get().toMillis();
    List<WorkflowRow> due = sql.txOnce(c -> {
      List<String> ids = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement("SELECT id FROM torpor_workflow WHERE (state = 'PENDING' AND updated_at < ?)"
          + " OR (state = 'SUSPENDED' AND NOT unrestorable AND (wake_at < ? OR (wait_kind IS NULL AND updated_at < ?)"
          + " OR (wait_kind = 'SIGNAL' AND EXISTS"
          + " (SELECT 1 FROM torpor_signal s WHERE s.workflow_id = torpor_workflow.id AND s.name = torpor_workflow.wait_signal"
          + " AND s.delivered_seq IS NULL AND s.received_at < ?)))"
          // Recovered (owner cleared) but its RECOVER wake never made it into Quartz: the process
          // that recovered it died first.
          + " OR (state = 'RUNNING' AND owner IS NULL AND updated_at < ?))")) {
        for (int i = 1; i <= 5; i++) {
          ps.setLong(i, before);
        }
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next() && ids.size() < 1000) {
            ids.add(rs.getString(1));
          }
        }
      }
      List<WorkflowRow> out = new ArrayList<>();
      for (String id : ids) {
        WorkflowRow w = Registry.lockIfExists(c, id);
        if (w != null) {
          out.add(w);
        }
      }
      return out;
    });
    int armed = 0;
    for (WorkflowRow w : due) {
      if (timers.hasJobs(w.id)) {
        continue; // waiting in Quartz (a busy cluster), as it should
      }
      System.err.println("torpor: " + w.id + " (" + w.state + ", seq " + w.seq + ") had no timer left: re-armed");
      if (w.state == WorkflowState.PENDING) {
        timers.dispatch(w.id, Instant.now());
      } else if (w.state == WorkflowState.RUNNING) {
        timers.wake(w.id, w.seq, RECOVER, Instant.now());
      } else {
        armWait(w);
      }
      armed++;
    }
    return armed;
  }

  /** Kills this worker's JVMs of workflows cancelled through another node, and lets them go. */
  void killCancelled(String workerId) {
    List<String> ids = sql.txOnce(c -> {
      List<String> out = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement("SELECT id FROM torpor_workflow WHERE owner = ? AND state = 'CANCELLED'")) {
        ps.setString(1, workerId);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(rs.getString(1));
          }
        }
      }
      return out;
    });
    WorkerGateway g = gateway.get();
    for (String id : ids) {
      if (g != null) {
        g.kill(id);
      }
      sql.tx(c -> {
        WorkflowRow w = Registry.lockIfExists(c, id);
        return w != null && workerId.equals(w.owner) && Registry.transition(c, w, Registry.Change.to().owner(null));
      });
    }
  }

  /** A worker joined: every image that all workers had declined is offered again. */
  void rearmUnrestorable() {
    List<WorkflowRow> rows = sql.tx(c -> {
      List<String> ids = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT id FROM torpor_workflow WHERE unrestorable AND state = 'SUSPENDED'"); ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          ids.add(rs.getString(1));
        }
      }
      List<WorkflowRow> out = new ArrayList<>();
      for (String id : ids) {
        WorkflowRow w = Registry.lock(c, id);
        if (w.unrestorable && w.state == WorkflowState.SUSPENDED) {
          Registry.apply(c, w, Registry.Change.to().unrestorable(false));
          out.add(w);
        }
      }
      return out;
    });
    rows.forEach(this::armWait);
  }

  /** A workflow whose JVM died with the previous server: resume its last image, or start over. */
  private boolean recoverLive(WorkflowRow w) {
    boolean restart = w.seq == 0;
    boolean done = sql.tx(c -> {
      // A compare-and-set on what the caller saw: in a cluster every node looks for orphans, and
      // a second recovery after the first one's wake ran would undo the workflow's progress.
      WorkflowRow now = Registry.lockIfExists(c, w.id);
      if (now == null || now.state != w.state || now.seq != w.seq || now.inMemory != w.inMemory
          || !java.util.Objects.equals(now.owner, w.owner)) {
        return false;
      }
      // Signals the lost segment took (claimed for image seq or later) go back to the mailbox.
      try (PreparedStatement ps = c.prepareStatement("UPDATE torpor_signal SET delivered_seq = NULL"
          + " WHERE workflow_id = ? AND delivered_seq >= ?")) {
        ps.setString(1, w.id);
        ps.setLong(2, w.seq);
        ps.executeUpdate();
      }
      // What the last wake delivered is delivered again with the recovered wake (Mailbox.recoveredWakeup).
      for (long n : w.lastWakeSignals) {
        try (PreparedStatement ps = c.prepareStatement("UPDATE torpor_signal SET delivered_seq = ? WHERE n = ?")) {
          ps.setLong(1, w.seq);
          ps.setLong(2, n);
          ps.executeUpdate();
        }
      }
      Registry.apply(c, now, Registry.Change.to().state(restart ? WorkflowState.PENDING : WorkflowState.RUNNING).inMemory(false)
          .owner(null));
      Map<String, Object> h = new LinkedHashMap<>();
      h.put("from", restart ? "the start (it had no image)" : "image " + w.seq);
      h.put("was", w.state.name());
      if (w.owner != null && clustered) {
        h.put("lostWorker", w.owner);
      }
      History.record(c, w.id, "RECOVERED", w.seq, h);
      return true;
    });
    if (!done) {
      return false;
    }
    CrashPoint.reach(CrashPoint.RECOVERY_COMMITTED);
    if (restart) {
      timers.dispatch(w.id, Instant.now());
    } else {
      timers.wake(w.id, w.seq, RECOVER, Instant.now());
    }
    return true;
  }
}
