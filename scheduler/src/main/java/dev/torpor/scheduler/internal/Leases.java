package dev.torpor.scheduler.internal;

import dev.torpor.TorporException;
import dev.torpor.scheduler.ClusterOptions;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Worker leases in a cluster. A worker registers a row in {@code torpor_worker} and renews it
 * (its beat count goes up) every {@link ClusterOptions#leaseInterval}. Every node watches the
 * rows: a worker whose beats have not moved for {@link ClusterOptions#leaseTtl}, as this node's
 * own monotonic clock measures it (so the machines' clocks need not agree), is declared GONE by
 * a compare-and-set on its beat count. Workflows owned by a worker that is not LIVE (a running
 * segment, a wait in memory) are then recovered from their last image by whichever node's
 * compare-and-set on the owner wins.
 *
 * <p>A worker that has not renewed for half the TTL fences itself: it kills its workflow JVMs
 * before any other node can declare it gone, then rejoins under a new id. A worker that finds
 * its row GONE (it stalled, its database was away) does the same: its stale JVMs die and nothing
 * they did after their lease expired is committed, since every commit is a compare-and-set on the
 * owner.
 */
public final class Leases implements AutoCloseable {
  /** What the control plane does for the leases. */
  interface Plane {
    /** Recovers the workflows of owners that are not LIVE; returns how many. */
    int recoverOrphans();

    /** Kills the JVMs of this worker's workflows that were cancelled elsewhere. */
    void killCancelled(String workerId);

    /** A worker joined: images every worker had declined may have a taker now. */
    void rearmUnrestorable();

    /** This worker's id changed (it joined, or rejoined after being fenced). */
    void ownerId(String workerId);

    /** Re-arms the wakes and dispatches of workflows whose Quartz job was lost (a database outage); returns how many. */
    int sweep();

    /** Returns once the dispatches and wakes in flight are through; later ones see this worker fenced. */
    void drain();
  }

  /**
   * A worker's entry in the cluster.
   *
   * @param name the worker's name, unique in the cluster and kept across its restarts
   * @param onFenced kills the worker's JVMs, given why (called on the lease thread; returns once they are told to die)
   * @param onJoined the worker holds a lease again, under the id given
   */
  public record Member(String name, int maxRunning, Map<String, Object> facts, Consumer<String> onFenced,
      Consumer<String> onJoined) {}

  private final Sql sql;
  /** The renewals' own connections (see {@link Database#leaseDataSource}). */
  private final Sql leaseSql;
  private final ClusterOptions options;
  private final Plane plane;
  private final Optional<Member> member;
  /** Renews this worker's lease, on time: nothing else runs on it. */
  private final ScheduledExecutorService clock = daemon("torpor-lease");
  /** Watches the other leases and recovers, kills and sweeps what they call for. */
  private final ScheduledExecutorService watcher = daemon("torpor-leases");
  /** Beat counts seen of other workers, and since when (this node's nanoTime) each has not moved. */
  private final Map<String, long[]> seen = new HashMap<>();
  /** Every how many ticks lost jobs are looked for. */
  private static final int SWEEP_EVERY = 10;
  private long ticks;
  private volatile String workerId;
  private volatile boolean fenced;
  private long lastRenewSent;

  Leases(Sql sql, Sql leaseSql, ClusterOptions options, Plane plane, Optional<Member> member) {
    this.sql = sql;
    this.leaseSql = leaseSql;
    this.options = options;
    this.plane = plane;
    this.member = member;
  }

  /** Joins (for a worker) and starts renewing and watching. */
  void start() {
    member.ifPresent(m -> {
      join(m, null);
      lastRenewSent = System.nanoTime();
    });
    long every = options.leaseInterval().toMillis();
    if (member.isPresent()) {
      clock.scheduleWithFixedDelay(this::renewTick, every, every, TimeUnit.MILLISECONDS);
    }
    watcher.scheduleWithFixedDelay(this::tick, every, every, TimeUnit.MILLISECONDS);
  }

  /** This worker's current id, or empty for a node without a worker. */
  Optional<String> workerId() {
    return Optional.ofNullable(workerId);
  }

  /** Whether this worker is fenced (killed its JVMs, not yet rejoined): it must take no work. */
  boolean fenced() {
    return fenced;
  }

  private void join(Member m, String previous) {
    String id = m.name() + "@" + HexFormat.of().formatHex(
        java.nio.ByteBuffer.allocate(4).putInt(ThreadLocalRandom.current().nextInt()).array());
    long now = System.currentTimeMillis();
    sql.tx(c -> {
      if (previous != null) {
        try (PreparedStatement ps = c.prepareStatement("UPDATE torpor_worker SET state = 'GONE' WHERE id = ?")) {
          ps.setString(1, previous);
          ps.executeUpdate();
        }
      }
      // An earlier incarnation of this worker (same name) died with its JVMs: no need to wait out its lease.
      try (PreparedStatement ps = c.prepareStatement("UPDATE torpor_worker SET state = 'GONE' WHERE name = ? AND state = 'LIVE'")) {
        ps.setString(1, m.name());
        ps.executeUpdate();
      }
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO torpor_worker (id, name, state, beats, max_running,"
          + " facts, started_at, heartbeat_at) VALUES (?, ?, 'LIVE', 0, ?, ?, ?, ?)")) {
        ps.setString(1, id);
        ps.setString(2, m.name());
        ps.setInt(3, m.maxRunning());
        ps.setString(4, Json.write(m.facts()));
        ps.setLong(5, now);
        ps.setLong(6, now);
        ps.executeUpdate();
      }
      return null;
    });
    workerId = id;
    plane.ownerId(id);
    fenced = false;
    m.onJoined().accept(id);
    plane.recoverOrphans(); // the earlier incarnation's workflows, at once
    plane.rearmUnrestorable();
  }

  private static ScheduledExecutorService daemon(String name) {
    return Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    });
  }

  private void renewTick() {
    try {
      member.ifPresent(this::renew);
    } catch (TorporException e) {
      System.err.println("torpor worker: lease renewal failed (will retry): " + e.getMessage());
    } catch (RuntimeException e) {
      System.err.println("torpor worker: lease renewal failed (will retry): " + e);
    }
  }

  private void tick() {
    try {
      watch();
      if (!fenced && workerId != null) {
        plane.killCancelled(workerId);
      }
      plane.recoverOrphans();
      if (++ticks % SWEEP_EVERY == 0) {
        plane.sweep();
      }
    } catch (TorporException e) {
      System.err.println("torpor: lease check failed (will retry): " + e.getMessage());
    } catch (RuntimeException e) {
      System.err.println("torpor: lease check failed (will retry): " + e);
    }
  }

  private void renew(Member m) {
    if (fenced) {
      join(m, workerId); // throws while the database is away; the next tick tries again
      lastRenewSent = System.nanoTime();
      System.err.println("torpor worker: rejoined the cluster as " + workerId);
      return;
    }
    long sent = System.nanoTime();
    int updated;
    try {
      updated = leaseSql.txOnce(c -> {
        try (PreparedStatement ps = c.prepareStatement(
            "UPDATE torpor_worker SET beats = beats + 1, heartbeat_at = ? WHERE id = ? AND state = 'LIVE'")) {
          ps.setLong(1, System.currentTimeMillis());
          ps.setString(2, workerId);
          return ps.executeUpdate();
        }
      });
    } catch (TorporException e) {
      sql.leaseRenewal(false);
      if (System.nanoTime() - lastRenewSent > options.leaseTtl().toNanos() / 2) {
        fence(m, "its lease could not be renewed for " + options.leaseTtl().dividedBy(2).toMillis()
            + " ms (" + e.getMessage() + ")");
      }
      throw e;
    }
    sql.leaseRenewal(updated == 1);
    if (updated == 0) {
      fence(m, "the cluster declared it gone (it did not renew its lease for " + options.leaseTtl().toMillis() + " ms)");
    } else {
      lastRenewSent = sent;
    }
  }

  private void fence(Member m, String why) {
    fenced = true;
    System.err.println("torpor worker: " + workerId + " is fenced: " + why
        + "; killing its workflow JVMs (their workflows resume from their last image) and rejoining");
    plane.drain(); // no JVM starts after the kill below
    m.onFenced().accept(why);
  }

  /** Declares GONE every other worker whose beats have not moved for the TTL. */
  private void watch() {
    List<String[]> live = sql.txOnce(c -> {
      List<String[]> out = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement("SELECT id, beats FROM torpor_worker WHERE state = 'LIVE'");
          ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(new String[] {rs.getString(1), Long.toString(rs.getLong(2))});
        }
      }
      return out;
    });
    long now = System.nanoTime();
    Map<String, long[]> next = new HashMap<>();
    for (String[] w : live) {
      long beats = Long.parseLong(w[1]);
      long[] before = seen.get(w[0]);
      long since = before != null && before[0] == beats ? before[1] : now;
      next.put(w[0], new long[] {beats, since});
      if (!w[0].equals(workerId) && now - since > options.leaseTtl().toNanos()) {
        int gone = sql.txOnce(c -> {
          try (PreparedStatement ps = c.prepareStatement(
              "UPDATE torpor_worker SET state = 'GONE' WHERE id = ? AND beats = ? AND state = 'LIVE'")) {
            ps.setString(1, w[0]);
            ps.setLong(2, beats);
            return ps.executeUpdate();
          }
        });
        if (gone == 1) {
          System.err.println("torpor: worker " + w[0] + " did not renew its lease for "
              + options.leaseTtl().toMillis() + " ms: declared gone; its workflows resume elsewhere");
          next.remove(w[0]);
        }
      }
    }
    seen.clear();
    seen.putAll(next);
    sql.txOnce(c -> {
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM torpor_worker WHERE state = 'GONE' AND heartbeat_at < ?")) {
        ps.setLong(1, System.currentTimeMillis() - TimeUnit.HOURS.toMillis(1));
        return ps.executeUpdate();
      }
    });
  }

  @Override
  public void close() {
    Sql.stopGently(clock, java.time.Duration.ofSeconds(5));
    Sql.stopGently(watcher, java.time.Duration.ofSeconds(5));
    String id = workerId;
    if (id != null && !fenced) {
      // A clean stop: the workflows it ran were handed back by the caller; nothing to wait out.
      try {
        sql.txOnce(c -> {
          try (PreparedStatement ps = c.prepareStatement("UPDATE torpor_worker SET state = 'GONE' WHERE id = ?")) {
            ps.setString(1, id);
            return ps.executeUpdate();
          }
        });
      } catch (TorporException e) {
        System.err.println("torpor worker: could not leave the cluster cleanly (its lease expires instead): " + e.getMessage());
      }
    }
  }
}
