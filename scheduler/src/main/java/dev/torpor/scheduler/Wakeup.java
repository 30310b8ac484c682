package dev.torpor.scheduler;

import dev.torpor.Signal;
import dev.torpor.internal.protocol.WakeReason;
import java.util.Optional;

/** What a wake delivers: why, and the signal when there is one. */
public record Wakeup(WakeReason reason, Optional<Signal> signal) {
  public static Wakeup of(WakeReason reason) {
    return new Wakeup(reason, Optional.empty());
  }
}
