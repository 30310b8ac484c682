package dev.torpor.scheduler;

import dev.torpor.PendingWait;
import dev.torpor.WaitKind;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a worker tells whoever decides its workflows' wakes about the workflows it runs: the one
 * contract from worker to control plane (a server's {@code JdbcControlPlane}, through the server's
 * worker adapter; {@code torpor run}'s in-memory supervisor). The worker asks it before a dump (a
 * signal may already be waiting) and tells it after the image is committed (it arms the timer and
 * re-checks the mailbox, so a signal that raced the dump wakes the workflow at once); the decider
 * later wakes the workflow through the worker ({@link WorkerGateway#wake} on a server).
 */
public interface WorkerCallbacks {
  /**
   * The workflow is about to wait on the set {@code waits}: what is due now (signals already in
   * the mailbox for any of its waits, a timer already past) is claimed and returned, and the
   * worker then skips the checkpoint.
   */
  Optional<Wakeup> dueNow(String workflowId, long seq, List<PendingWait> waits);

  /** {@link #dueNow(String, long, List)} for a single wait. */
  default Optional<Wakeup> dueNow(String workflowId, long seq, WaitKind kind, Optional<Instant> wakeAt, Optional<String> signal) {
    return dueNow(workflowId, seq, PendingWait.single(kind, wakeAt, signal, ""));
  }

  /**
   * Whether this worker still holds the lease of the workflow's running segment, asked before an
   * image is committed: a worker whose lease was taken must not write an image that the new owner
   * may be writing under the same seq.
   */
  default boolean owns(String workflowId) {
    return true;
  }

  /**
   * The workflow waits on the set {@code waits}, frozen as image {@code seq} (or in memory, when
   * {@code inMemory}). Arms the earliest timer and re-checks the mailbox for every wait's names,
   * so a signal that raced the dump wakes it at once.
   *
   * @return whether the registry took it: false when this worker no longer holds the workflow's
   *     running segment (it was cancelled, or its lease went to another worker, which resumes it
   *     from an earlier image). The caller then must not touch any image that registry names.
   */
  boolean waiting(String workflowId, long seq, List<PendingWait> waits, boolean inMemory, Map<String, Object> details);

  /** {@link #waiting(String, long, List, boolean, Map)} for a single wait, whose stack is {@code details}' "stack". */
  default boolean waiting(String workflowId, long seq, WaitKind kind, Optional<Instant> wakeAt, Optional<String> signal,
      boolean inMemory, Map<String, Object> details) {
    Object stack = details.get("stack");
    return waiting(workflowId, seq, PendingWait.single(kind, wakeAt, signal, stack == null ? "" : stack.toString()),
        inMemory, details);
  }

  /** A wake could not be delivered; the workflow still waits on image {@code seq}. */
  void undeliverable(String workflowId, long seq, Wakeup wakeup, String error);

  /**
   * This worker cannot restore image {@code seq} (another JDK build, missing CPU features) and
   * declines it, so that a worker that can takes the wake; the workflow still waits on it. When no
   * live worker can, the image is reported unrestorable instead of being retried forever.
   */
  default void declined(String workflowId, long seq, Wakeup wakeup, String reason) {
    undeliverable(workflowId, seq, wakeup, reason);
  }

  /**
   * What the workflow printed in a segment that ended here (it froze or exited), in order. In a
   * cluster the registry keeps it, so that any node serves the log; a single server reads its own
   * log files instead and ignores this.
   *
   * @param segment names this segment run (from the start or restore to the freeze or exit),
   *     unique among the workflow's runs: 1 to 200 printable ASCII characters. Output shipped
   *     again under a segment already stored changes nothing.
   */
  default void output(String workflowId, String segment, byte[] bytes) {}

  /**
   * Something happened that belongs in the history; {@code CHECKPOINTED} (a savepoint) also makes
   * image {@code seq} the one a crash resumes from.
   *
   * @return whether it was recorded: false when this worker no longer holds the workflow's
   *     running segment (and, for a savepoint, when the workflow moved on meanwhile), in which
   *     case the caller must not retire the image before it
   */
  boolean event(String workflowId, SegmentEvent type, long seq, Map<String, Object> details);

  /** The workflow's JVM exited. */
  void exited(String workflowId, int exitCode, String logTail);
}
