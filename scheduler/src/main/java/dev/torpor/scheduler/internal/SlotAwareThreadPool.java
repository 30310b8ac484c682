package dev.torpor.scheduler.internal;

import dev.torpor.scheduler.WorkerGateway;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.quartz.simpl.SimpleThreadPool;

/**
 * Quartz's thread pool, which also waits for a free workflow slot before Quartz takes triggers.
 *
 * <p>Quartz takes as many due triggers as its pool has free threads. Without this, a worker whose
 * slots are all busy kept taking wakes, found no slot, and put each back in Quartz for 250 ms
 * later: with a few hundred timers overdue, hundreds of such round trips a second (a job and
 * trigger written, fired and deleted each time), which took CPU from the restores that would
 * have freed the slots, and woke the workflows in no particular order. Now Quartz's thread waits
 * (at most {@link #SLOT_WAIT}) until a slot is given back and then takes at most as many triggers
 * as there are free slots, the earliest due first. When the wait runs out it takes one anyway: a
 * wake of a JVM that waits in memory needs no slot (it holds its own), and a trigger for a
 * workflow that moved on needs none either.
 *
 * <p>Quartz makes the pool from its class name; the gateway reaches it through {@link #register},
 * under the name passed as the pool's {@code gate} property.
 */
public final class SlotAwareThreadPool extends SimpleThreadPool {
  /** How long Quartz's thread waits for a free slot before it takes one trigger anyway. */
  static final Duration SLOT_WAIT = Duration.ofMillis(250);

  private static final Map<String, Supplier<WorkerGateway>> GATES = new ConcurrentHashMap<>();

  private volatile Supplier<WorkerGateway> gate = () -> null;

  /** Makes {@code gateway} (null while there is none) the slots of the pool whose {@code gate} property is {@code name}. */
  static void register(String name, Supplier<WorkerGateway> gateway) {
    GATES.put(name, gateway);
  }

  static void unregister(String name) {
    GATES.remove(name);
  }

  /** Set by Quartz from {@code org.quartz.threadPool.gate}. */
  public void setGate(String name) {
    Supplier<WorkerGateway> g = GATES.get(name);
    if (g == null) {
      throw new IllegalStateException("no worker gateway is registered as " + name);
    }
    this.gate = g;
  }

  @Override
  public int blockForAvailableThreads() {
    int threads = super.blockForAvailableThreads();
    WorkerGateway g = gate.get();
    if (g == null || threads <= 0) {
      return threads;
    }
    try {
      int free = g.awaitFreeSlots(SLOT_WAIT);
      return Math.min(threads, Math.max(1, free));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return threads;
    }
  }
}
