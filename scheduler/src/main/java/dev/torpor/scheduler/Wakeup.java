package dev.torpor.scheduler;

import dev.torpor.Signal;
import dev.torpor.WakeReason;
import java.util.Optional;

/**
 * What a wake delivers to a waiting workflow, from the control plane through the worker to its
 * JVM: why, and the signal when there is one.
 */
public record Wakeup(WakeReason reason, Optional<Signal> signal) {
  public static Wakeup of(WakeReason reason) {
    return new Wakeup(reason, Optional.empty());
  }

  /** A wake that delivers signal {@code s}. */
  public static Wakeup signal(Signal s) {
    return new Wakeup(WakeReason.SIGNAL, Optional.of(s));
  }
}
