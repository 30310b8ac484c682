package dev.torpor.launcher.internal;

import dev.torpor.PendingWait;
import dev.torpor.Signal;
import dev.torpor.SignalName;
import dev.torpor.WaitKind;
import dev.torpor.WakeReason;
import dev.torpor.WorkflowId;
import dev.torpor.scheduler.SegmentEvent;
import dev.torpor.scheduler.Wakeup;
import dev.torpor.scheduler.WorkerCallbacks;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Timers and a signal mailbox in memory, for a single worker ({@code torpor run} and tests):
 * nothing here survives the process, unlike the control plane's scheduler. Signals sent
 * before the workflow waits are kept and delivered in order per name, each once; a wake
 * delivers, for each wait of the set in order, the oldest kept signal it accepts (as the
 * control plane does).
 */
public final class InMemorySupervisor implements WorkerCallbacks, AutoCloseable {
  private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "torpor-timers");
    t.setDaemon(true);
    return t;
  });
  /** Per workflow, its kept signals in the order they arrived. */
  private final Map<String, Deque<Signal>> mailbox = new HashMap<>();
  private final Map<String, Waiting> waiting = new HashMap<>();
  /** The last wait set of each workflow, which a failed delivery leaves it in. */
  private final Map<String, List<PendingWait>> waits = new HashMap<>();
  private Worker worker;
  private static final long WAKE_PAYLOAD_BUDGET = 1 << 20;

  private record Waiting(long seq, List<PendingWait> waits, ScheduledFuture<?> timer) {}

  /** Connects the worker to wake; call once before the first workflow starts. */
  public synchronized void attach(Worker worker) {
    this.worker = worker;
  }

  /** Sends a signal: delivered now if the workflow waits for it, else kept for its next wait. */
  public synchronized void signal(WorkflowId id, SignalName signal, byte[] payload) {
    String workflowId = id.value();
    mailbox.computeIfAbsent(workflowId, k -> new ArrayDeque<>()).addLast(new Signal(signal.value(), payload, Instant.now()));
    Waiting w = waiting.get(workflowId);
    if (w != null && PendingWait.anyAccepts(w.waits(), signal.value())) {
      fire(workflowId, w, new Wakeup(WakeReason.SIGNAL, claim(workflowId, w.waits())));
    }
  }

  /** Wakes a workflow that waits on a timer now (an operator's early wake). */
  public synchronized boolean wakeNow(WorkflowId id) {
    String workflowId = id.value();
    Waiting w = waiting.get(workflowId);
    if (w == null || w.waits().stream().noneMatch(x -> x.kind() == WaitKind.TIMER)) {
      return false;
    }
    fire(workflowId, w, new Wakeup(WakeReason.OPERATOR, claim(workflowId, w.waits())));
    return true;
  }

  @Override
  public synchronized Optional<Wakeup> dueNow(String workflowId, long seq, List<PendingWait> set) {
    List<Signal> claimed = claim(workflowId, set);
    if (!claimed.isEmpty()) {
      return Optional.of(new Wakeup(WakeReason.SIGNAL, claimed));
    }
    Instant now = Instant.now();
    return set.stream().filter(w -> w.dueAt(now)).findFirst()
        .map(w -> Wakeup.of(w.kind() == WaitKind.SIGNAL ? WakeReason.TIMEOUT : WakeReason.TIMER));
  }

  /** Takes every wait: there is no registry to refuse it. */
  @Override
  public synchronized boolean waiting(String workflowId, long seq, List<PendingWait> set, boolean inMemory,
      Map<String, Object> details) {
    waits.put(workflowId, set);
    Optional<Wakeup> due = dueNow(workflowId, seq, set); // a signal may have raced the dump
    if (due.isPresent()) {
      worker.wake(workflowId, seq, due.get());
      return true;
    }
    ScheduledFuture<?> timer = null;
    Optional<Instant> at = PendingWait.earliest(set);
    if (at.isPresent()) {
      long delay = Math.max(0, Duration.between(Instant.now(), at.get()).toMillis());
      timer = timers.schedule(() -> timerFired(workflowId, seq), delay, TimeUnit.MILLISECONDS);
    }
    waiting.put(workflowId, new Waiting(seq, set, timer));
    return true;
  }

  /**
   * Takes a failed delivery back: its signals return to the front of the mailbox, and the
   * workflow waits again, without a timer, until {@link #retry} (no retry loop against an
   * image that cannot be restored).
   */
  @Override
  public synchronized void undeliverable(String workflowId, long seq, Wakeup delivery, String error) {
    Deque<Signal> q = mailbox.computeIfAbsent(workflowId, k -> new ArrayDeque<>());
    List<Signal> back = new ArrayList<>(delivery.signals());
    for (int i = back.size() - 1; i >= 0; i--) {
      q.addFirst(back.get(i));
    }
    List<PendingWait> set = waits.get(workflowId);
    if (set != null) {
      waiting.put(workflowId, new Waiting(seq, set, null));
    }
  }

  /** Nothing to record: the worker's events are the history of {@code torpor run}. */
  @Override
  public boolean event(String workflowId, SegmentEvent type, long seq, Map<String, Object> details) {
    return true;
  }

  @Override
  public synchronized void exited(String workflowId, int exitCode, String logTail) {
    waits.remove(workflowId);
    waiting.remove(workflowId);
  }

  /** Tries again to wake a workflow whose wake failed, if its wait is over. */
  public synchronized boolean retry(String workflowId) {
    Waiting w = waiting.get(workflowId);
    if (w == null) {
      return false;
    }
    Optional<Wakeup> due = dueNow(workflowId, w.seq(), w.waits());
    due.ifPresent(d -> fire(workflowId, w, d));
    return due.isPresent();
  }

  private synchronized void timerFired(String workflowId, long seq) {
    Waiting w = waiting.get(workflowId);
    if (w != null && w.seq() == seq) {
      List<Signal> claimed = claim(workflowId, w.waits());
      fire(workflowId, w, claimed.isEmpty() ? Wakeup.of(WakeReason.TIMER) : new Wakeup(WakeReason.SIGNAL, claimed));
    }
  }

  private void fire(String workflowId, Waiting w, Wakeup d) {
    waiting.remove(workflowId);
    if (w.timer() != null) {
      w.timer().cancel(false);
    }
    if (!worker.wake(workflowId, w.seq(), d)) {
      undeliverable(workflowId, w.seq(), d, "the worker refused the wake");
    }
  }

  /**
   * For each signal wait of {@code set} in order, the oldest kept signal it accepts, taken from the
   * mailbox; returned in the order they arrived (the order the JVM hands them out in).
   */
  private List<Signal> claim(String workflowId, List<PendingWait> set) {
    Deque<Signal> q = mailbox.get(workflowId);
    if (q == null) {
      return List.of();
    }
    List<Signal> kept = new ArrayList<>(q);
    boolean[] taken = new boolean[kept.size()];
    long bytes = 0;
    int count = 0;
    for (PendingWait w : set) {
      for (int i = 0; w.kind() == WaitKind.SIGNAL && i < kept.size(); i++) {
        if (!taken[i] && w.accepts(kept.get(i).name())) {
          // Several signals in one wake only within the budget the control plane keeps too (one frame).
          if (count == 0 || bytes + kept.get(i).payload().length <= WAKE_PAYLOAD_BUDGET) {
            taken[i] = true;
            bytes += kept.get(i).payload().length;
            count++;
          }
          break;
        }
      }
    }
    List<Signal> out = new ArrayList<>();
    q.clear();
    for (int i = 0; i < kept.size(); i++) {
      (taken[i] ? out : q).add(kept.get(i));
    }
    return out;
  }

  @Override
  public void close() {
    timers.shutdownNow();
  }
}
