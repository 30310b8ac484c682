package dev.torpor.internal;

import dev.torpor.Signal;
import dev.torpor.WaitKind;
import dev.torpor.WakeReason;
import dev.torpor.PendingWait;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The waits of one JVM: every thread blocked in a {@code Durable} wait, in the order the waits
 * began. Not thread-safe: its owner guards it.
 */
final class WaitSet {
  /** How one wait ended. */
  record Outcome(WakeReason reason, Optional<Signal> signal) {}

  /**
   * What happened around the checkpoint that ended a wait: hooks that refused or failed, why the
   * worker could not checkpoint (the wait was then kept in memory), or why the worker could not be
   * reached at all.
   */
  record Round(List<Throwable> refusals, List<Throwable> afterFailures, Optional<String> checkpointFailure,
      RuntimeException error) {
    static final Round NONE = new Round(List.of(), List.of(), Optional.empty(), null);
  }

  /** One thread's wait, and how it ended once it has. */
  static final class Waiter {
    final PendingWait wait;
    final Thread thread = Thread.currentThread();
    Outcome outcome;
    Round round = Round.NONE;

    Waiter(PendingWait wait) {
      this.wait = wait;
    }
  }

  private final List<Waiter> pending = new ArrayList<>();
  /** Signals a wake delivered that no wait took (none should be): the next wait for the name gets them. */
  private final Map<String, Deque<Signal>> inbox = new HashMap<>();
  private long lastId;

  /** A new wait, unless a signal it accepts is in the inbox: then it ends at once. */
  Waiter add(WaitKind kind, List<String> names, Optional<Instant> wakeAt, String stack) {
    Waiter w = new Waiter(new PendingWait(++lastId, kind, names, wakeAt, stack));
    for (String name : names) {
      Deque<Signal> q = inbox.get(name);
      if (q != null && !q.isEmpty()) {
        w.outcome = new Outcome(WakeReason.SIGNAL, Optional.of(q.pollFirst()));
        return w;
      }
    }
    pending.add(w);
    return w;
  }

  boolean isEmpty() {
    return pending.isEmpty();
  }

  List<Waiter> snapshot() {
    return List.copyOf(pending);
  }

  /**
   * Ends the waits of {@code batch} that a wake satisfies: each signal goes to the first wait (by
   * id) that accepts its name, taken in the order given (the order the control plane claimed them
   * in); then every timer or deadline due at {@code asOf} is over; an operator's wake ends every
   * timer wait; a savepoint ends with any wake. A signal no wait of the batch takes goes to a wait
   * begun since, or to the inbox.
   *
   * @return the waits that ended, which have left the set
   */
  List<Waiter> settle(List<Waiter> batch, WakeReason reason, List<Signal> signals, Instant asOf) {
    List<Signal> left = new ArrayList<>(signals);
    List<Waiter> ended = new ArrayList<>();
    for (Waiter w : batch) {
      give(w, left);
    }
    for (Waiter w : batch) {
      if (w.outcome == null) {
        if (w.wait.kind() == WaitKind.CHECKPOINT) {
          w.outcome = new Outcome(WakeReason.CHECKPOINT, Optional.empty());
        } else if (w.wait.dueAt(asOf)) {
          w.outcome = new Outcome(w.wait.kind() == WaitKind.SIGNAL ? WakeReason.TIMEOUT : WakeReason.TIMER, Optional.empty());
        } else if (reason == WakeReason.OPERATOR && w.wait.kind() == WaitKind.TIMER) {
          w.outcome = new Outcome(WakeReason.OPERATOR, Optional.empty());
        }
      }
    }
    for (Waiter w : pending) {
      if (w.outcome == null && !batch.contains(w)) {
        give(w, left);
      }
    }
    for (Signal s : left) {
      inbox.computeIfAbsent(s.name(), k -> new ArrayDeque<>()).addLast(s);
    }
    for (Iterator<Waiter> it = pending.iterator(); it.hasNext(); ) {
      Waiter w = it.next();
      if (w.outcome != null) {
        ended.add(w);
        it.remove();
      }
    }
    return ended;
  }

  /** Ends every wait of {@code batch} still pending with {@code failure} (the worker could not be reached). */
  List<Waiter> fail(List<Waiter> batch) {
    List<Waiter> ended = new ArrayList<>();
    for (Waiter w : batch) {
      if (pending.remove(w)) {
        ended.add(w);
      }
    }
    return ended;
  }

  private static void give(Waiter w, List<Signal> left) {
    if (w.outcome != null || w.wait.kind() != WaitKind.SIGNAL) {
      return;
    }
    for (Iterator<Signal> it = left.iterator(); it.hasNext(); ) {
      Signal s = it.next();
      if (w.wait.accepts(s.name())) {
        w.outcome = new Outcome(WakeReason.SIGNAL, Optional.of(s));
        it.remove();
        return;
      }
    }
  }
}
