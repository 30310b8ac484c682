package dev.torpor.launcher.internal;

import dev.torpor.Signal;
import dev.torpor.internal.protocol.WakeReason;
import java.util.Optional;

/** What a wake delivers to a waiting workflow: why, and the signal when there is one. */
public record Delivery(WakeReason reason, Optional<Signal> signal) {
  public static Delivery of(WakeReason reason) {
    return new Delivery(reason, Optional.empty());
  }

  public static Delivery signal(Signal s) {
    return new Delivery(WakeReason.SIGNAL, Optional.of(s));
  }
}
