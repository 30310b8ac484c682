package dev.torpor;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * One wait of a workflow's wait set: a thread blocked in a {@link Durable} wait. A workflow may
 * wait on many at once; {@code torpor status} lists them.
 *
 * @param id its number within the JVM, in the order the waits began: the order in which waits
 *     are served when several signals match (the same order the control plane claims in)
 * @param kind what it waits for
 * @param signals the signal names it accepts (one for {@code awaitSignal}, several for {@code
 *     awaitAny}); empty for a timer or a savepoint
 * @param wakeAt the timer instant, or the deadline of a signal wait; empty for none
 * @param stack the waiting thread's stack, for {@code torpor status}
 */
public record PendingWait(long id, WaitKind kind, List<String> signals, Optional<Instant> wakeAt, String stack) {
  /** @throws IllegalArgumentException if a name is invalid, or the kind lacks what it needs */
  public PendingWait {
    java.util.Objects.requireNonNull(kind, "kind");
    java.util.Objects.requireNonNull(wakeAt, "wakeAt");
    java.util.Objects.requireNonNull(stack, "stack");
    signals = List.copyOf(signals);
    for (String name : signals) {
      SignalName.of(name);
    }
    if (kind == WaitKind.SIGNAL && signals.isEmpty()) {
      throw new IllegalArgumentException("wait " + id + " for a signal names no signal");
    }
    if (kind == WaitKind.TIMER && wakeAt.isEmpty()) {
      throw new IllegalArgumentException("wait " + id + " for a timer has no wakeAt");
    }
  }

  /** Whether a signal of that name ends this wait. */
  public boolean accepts(String name) {
    return kind == WaitKind.SIGNAL && signals.contains(name);
  }

  /** Whether this wait's timer or deadline has passed at {@code now}. */
  public boolean dueAt(Instant now) {
    return wakeAt.isPresent() && !wakeAt.get().isAfter(now);
  }

  /** The earliest timer or deadline of {@code waits}, if any has one. */
  public static Optional<Instant> earliest(List<PendingWait> waits) {
    return waits.stream().flatMap(w -> w.wakeAt().stream()).min(Instant::compareTo);
  }

  /** Whether any of {@code waits} accepts a signal of that name. */
  public static boolean anyAccepts(List<PendingWait> waits, String name) {
    return waits.stream().anyMatch(w -> w.accepts(name));
  }

  /**
   * The kind a set of waits is listed under: {@code SIGNAL} when any waits for a signal, else
   * {@code TIMER} when any waits for a timer, else {@code CHECKPOINT}.
   */
  public static WaitKind summary(List<PendingWait> waits) {
    if (waits.stream().anyMatch(w -> w.kind() == WaitKind.SIGNAL)) {
      return WaitKind.SIGNAL;
    }
    return waits.stream().anyMatch(w -> w.kind() == WaitKind.TIMER) ? WaitKind.TIMER : WaitKind.CHECKPOINT;
  }

  /** A wait set of one wait (id 1). */
  public static List<PendingWait> single(WaitKind kind, Optional<Instant> wakeAt, Optional<String> signal, String stack) {
    return List.of(new PendingWait(1, kind, signal.stream().toList(), wakeAt, stack));
  }
}
