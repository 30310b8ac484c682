package dev.torpor.internal;

import dev.torpor.Signal;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.crac.Resource;

/** What {@link dev.torpor.Durable} delegates to: supervised by a worker, or local. */
public interface DurableRuntime {
  String workflowId();

  boolean isDurable();

  /** The workflow's clock: the wall clock, or a test's virtual clock. */
  default Instant now() {
    return Instant.now();
  }

  void sleepUntil(Instant wakeAt);

  /**
   * Waits for the first signal named any of {@code names} until the deadline (forever when
   * empty); empty result on timeout.
   */
  Optional<Signal> awaitSignal(List<String> names, Optional<Instant> deadline);

  void checkpoint();

  void register(Resource resource);
}
