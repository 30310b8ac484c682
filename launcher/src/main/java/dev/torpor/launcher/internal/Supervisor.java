package dev.torpor.launcher.internal;

import dev.torpor.scheduler.Wakeup;
import dev.torpor.internal.protocol.Suspend;
import java.util.Map;
import java.util.Optional;

/**
 * Decides when a waiting workflow wakes: the worker asks it before a dump (a signal may
 * already be waiting) and tells it after the image is committed (it arms the timer and
 * re-checks the mailbox, so a signal that raced the dump wakes the workflow at once). It
 * later calls {@link Worker#wake}. An in-memory one backs {@code torpor run}; the control
 * plane's Quartz scheduler is another.
 */
public interface Supervisor {
  /** A delivery that is due now, consumed if returned: the worker then skips the dump. */
  Optional<Wakeup> dueNow(String workflowId, Suspend wait);

  /**
   * The workflow waits, frozen as image {@code seq} ({@code inMemory}: still running, its
   * checkpoint failed or was refused). Arrange a {@link Worker#wake} when the wait is over.
   */
  void waiting(String workflowId, long seq, Suspend wait, boolean inMemory, Map<String, Object> details);

  /**
   * A delivery could not be made (the restore failed): the workflow still waits, frozen as
   * image {@code seq}. Take the delivery back so that it is not lost, and wake it again later.
   */
  void undeliverable(String workflowId, long seq, Suspend wait, Wakeup delivery);

  /** Whether this worker may commit an image of the workflow now (it still holds its lease). */
  default boolean mayCommit(String workflowId) {
    return true;
  }

  /**
   * This worker cannot restore image {@code seq} (another JDK build, missing CPU features) and
   * declines it: the delivery is taken back, and a worker that can restore the image wakes it.
   */
  default void declined(String workflowId, long seq, Suspend wait, Wakeup delivery) {
    undeliverable(workflowId, seq, wait, delivery);
  }
}
