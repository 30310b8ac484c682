package dev.torpor.testing;

import dev.torpor.PendingWait;
import dev.torpor.Signal;
import dev.torpor.WaitKind;
import dev.torpor.WakeReason;
import java.time.Instant;
import java.util.Optional;

/**
 * One wait of a test workflow's history: what it waited for, when (on the test's clock) it began
 * and ended, and what ended it.
 *
 * @param pendingWait the wait as the workflow's JVM reported it (kind, signal names, deadline, stack)
 * @param began when the environment learnt of it, on the virtual clock
 * @param ended when it ended, on the virtual clock; empty while it goes on
 * @param endedBy what ended it; empty while it goes on
 * @param signal the signal it returned, for a wait ended by one
 */
public record WaitRecord(PendingWait pendingWait, Instant began, Optional<Instant> ended, Optional<WakeReason> endedBy,
    Optional<Signal> signal) {
  public WaitKind kind() {
    return pendingWait.kind();
  }

  /** Whether it still goes on. */
  public boolean pending() {
    return endedBy.isEmpty();
  }

  WaitRecord end(Instant at, WakeReason reason, Optional<Signal> s) {
    return new WaitRecord(pendingWait, began, Optional.of(at), Optional.of(reason), s);
  }

  @Override
  public String toString() {
    PendingWait wait = pendingWait;
    StringBuilder b = new StringBuilder(wait.kind().name());
    if (!wait.signals().isEmpty()) {
      b.append(' ').append(wait.signals());
    }
    wait.wakeAt().ifPresent(t -> b.append(wait.kind() == WaitKind.TIMER ? " until " : " deadline ").append(t));
    b.append(", began ").append(began);
    endedBy.ifPresent(r -> b.append(", ended ").append(ended.orElseThrow()).append(" by ").append(r));
    signal.ifPresent(s -> b.append(" '").append(s.name()).append('\''));
    return b.toString();
  }
}
