package dev.torpor.launcher.internal;

import dev.torpor.scheduler.SegmentEvent;
import dev.torpor.scheduler.Wakeup;
import dev.torpor.scheduler.WorkerCallbacks;
import dev.torpor.Signal;
import dev.torpor.SignalName;
import dev.torpor.WaitKind;
import dev.torpor.WakeReason;
import dev.torpor.WorkflowId;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Timers and a signal mailbox in memory, for a single worker ({@code torpor run} and tests):
 * nothing here survives the process, unlike the control plane's scheduler. Signals sent
 * before the workflow waits are kept and delivered in order per name, each once.
 */
public final class InMemorySupervisor implements WorkerCallbacks, AutoCloseable {
  private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "torpor-timers");
    t.setDaemon(true);
    return t;
  });
  private final Map<String, Map<String, Deque<Signal>>> mailbox = new HashMap<>();
  private final Map<String, Waiting> waiting = new HashMap<>();
  /** The last wait of each workflow, which a failed delivery leaves it in. */
  private final Map<String, Wait> waits = new HashMap<>();
  private Worker worker;

  private record Wait(WaitKind kind, Optional<Instant> wakeAt, Optional<String> signal) {}

  private record Waiting(long seq, Wait request, ScheduledFuture<?> timer) {}

  /** Connects the worker to wake; call once before the first workflow starts. */
  public synchronized void attach(Worker worker) {
    this.worker = worker;
  }

  /** Sends a signal: delivered now if the workflow waits for it, else kept for its next wait. */
  public synchronized void signal(WorkflowId id, SignalName signal, byte[] payload) {
    String workflowId = id.value();
    String name = signal.value();
    mailbox.computeIfAbsent(workflowId, k -> new HashMap<>())
        .computeIfAbsent(name, k -> new ArrayDeque<>())
        .addLast(new Signal(name, payload, Instant.now()));
    Waiting w = waiting.get(workflowId);
    if (w != null && w.request().kind() == WaitKind.SIGNAL && w.request().signal().orElse("").equals(name)) {
      fire(workflowId, w, Wakeup.signal(poll(workflowId, name)));
    }
  }

  /** Wakes a workflow that waits on a timer now (an operator's early wake). */
  public synchronized boolean wakeNow(WorkflowId id) {
    String workflowId = id.value();
    Waiting w = waiting.get(workflowId);
    if (w == null || w.request().kind() != WaitKind.TIMER) {
      return false;
    }
    fire(workflowId, w, Wakeup.of(WakeReason.OPERATOR));
    return true;
  }

  @Override
  public synchronized Optional<Wakeup> dueNow(String workflowId, long seq, WaitKind kind, Optional<Instant> wakeAt,
      Optional<String> signal) {
    return dueNow(workflowId, new Wait(kind, wakeAt, signal));
  }

  private Optional<Wakeup> dueNow(String workflowId, Wait wait) {
    if (wait.kind() == WaitKind.SIGNAL) {
      Signal s = poll(workflowId, wait.signal().orElseThrow());
      if (s != null) {
        return Optional.of(Wakeup.signal(s));
      }
    }
    if (wait.wakeAt().isPresent() && !wait.wakeAt().get().isAfter(Instant.now())) {
      return Optional.of(Wakeup.of(wait.kind() == WaitKind.SIGNAL ? WakeReason.TIMEOUT : WakeReason.TIMER));
    }
    return Optional.empty();
  }

  /** Takes every wait: there is no registry to refuse it. */
  @Override
  public synchronized boolean waiting(String workflowId, long seq, WaitKind kind, Optional<Instant> wakeAt,
      Optional<String> signal, boolean inMemory, Map<String, Object> details) {
    Wait wait = new Wait(kind, wakeAt, signal);
    waits.put(workflowId, wait);
    Optional<Wakeup> due = dueNow(workflowId, wait); // a signal may have raced the dump
    if (due.isPresent()) {
      worker.wake(workflowId, seq, due.get());
      return true;
    }
    ScheduledFuture<?> timer = null;
    if (wait.wakeAt().isPresent()) {
      long delay = Math.max(0, Duration.between(Instant.now(), wait.wakeAt().get()).toMillis());
      WakeReason reason = wait.kind() == WaitKind.SIGNAL ? WakeReason.TIMEOUT : WakeReason.TIMER;
      timer = timers.schedule(() -> timerFired(workflowId, seq, reason), delay, TimeUnit.MILLISECONDS);
    }
    waiting.put(workflowId, new Waiting(seq, wait, timer));
    return true;
  }

  /**
   * Takes a failed delivery back: a signal returns to the front of the mailbox, and the
   * workflow waits again, without a timer, until {@link #retry} (no retry loop against an
   * image that cannot be restored).
   */
  @Override
  public synchronized void undeliverable(String workflowId, long seq, Wakeup delivery, String error) {
    delivery.signal().ifPresent(s -> mailbox.computeIfAbsent(workflowId, k -> new HashMap<>())
        .computeIfAbsent(s.name(), k -> new ArrayDeque<>()).addFirst(s));
    Wait wait = waits.get(workflowId);
    if (wait != null) {
      waiting.put(workflowId, new Waiting(seq, wait, null));
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
    Optional<Wakeup> due = dueNow(workflowId, w.request());
    due.ifPresent(d -> fire(workflowId, w, d));
    return due.isPresent();
  }

  private synchronized void timerFired(String workflowId, long seq, WakeReason reason) {
    Waiting w = waiting.get(workflowId);
    if (w != null && w.seq() == seq) {
      fire(workflowId, w, Wakeup.of(reason));
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

  private Signal poll(String workflowId, String name) {
    Deque<Signal> q = mailbox.getOrDefault(workflowId, Map.of()).get(name);
    return q == null ? null : q.pollFirst();
  }

  @Override
  public void close() {
    timers.shutdownNow();
  }
}
