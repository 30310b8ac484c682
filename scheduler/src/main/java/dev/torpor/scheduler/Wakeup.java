package dev.torpor.scheduler;

import dev.torpor.Signal;
import dev.torpor.WakeReason;
import java.util.List;
import java.util.Optional;

/**
 * What a wake delivers to a waiting workflow, from the control plane through the worker to its
 * JVM: why, and the signals it brings (each claimed for this wake, oldest first; the JVM gives
 * each to the first of its waits that accepts the name).
 *
 * @param asOf the instant the wake was decided at, when not now: a test's virtual clock
 *     ({@code torpor-testing}); the worker then tells the JVM that instant instead of its own clock
 */
public record Wakeup(WakeReason reason, List<Signal> signals, Optional<java.time.Instant> asOf) {
  public Wakeup {
    signals = List.copyOf(signals);
    java.util.Objects.requireNonNull(asOf, "asOf");
  }

  /** A wake decided now. */
  public Wakeup(WakeReason reason, List<Signal> signals) {
    this(reason, signals, Optional.empty());
  }

  /** A wake that brings at most one signal. */
  public Wakeup(WakeReason reason, Optional<Signal> signal) {
    this(reason, signal.stream().toList());
  }

  public static Wakeup of(WakeReason reason) {
    return new Wakeup(reason, List.of());
  }

  /** A wake that delivers signal {@code s}. */
  public static Wakeup signal(Signal s) {
    return new Wakeup(WakeReason.SIGNAL, List.of(s));
  }

  /** The first signal it brings. */
  public Optional<Signal> signal() {
    return signals.stream().findFirst();
  }
}
