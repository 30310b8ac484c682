package dev.torpor.scheduler;

import java.time.Instant;
import java.util.Map;
import java.util.Optional;

/** What a worker tells the control plane about the workflows it runs. */
public interface WorkerCallbacks {
  /**
   * The workflow is about to wait: a delivery due now (a signal already in the mailbox, a timer
   * already past) is claimed and returned, and the worker then skips the checkpoint.
   */
  Optional<Wakeup> dueNow(String workflowId, long seq, String waitKind, Optional<Instant> wakeAt, Optional<String> signal);

  /**
   * The workflow waits, frozen as image {@code seq} (or in memory, when {@code inMemory}).
   * Arms its timer and re-checks the mailbox, so a signal that raced the dump wakes it at once.
   */
  void waiting(String workflowId, long seq, String waitKind, Optional<Instant> wakeAt, Optional<String> signal,
      boolean inMemory, Map<String, Object> details);

  /** A wake could not be delivered; the workflow still waits on image {@code seq}. */
  void undeliverable(String workflowId, long seq, Wakeup wakeup, String error);

  /** Something happened that belongs in the history. */
  void event(String workflowId, String type, long seq, Map<String, Object> details);

  /** The workflow's JVM exited. */
  void exited(String workflowId, int exitCode, String logTail);
}
