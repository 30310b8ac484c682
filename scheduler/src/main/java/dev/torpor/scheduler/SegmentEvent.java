package dev.torpor.scheduler;

/**
 * What a worker reports of a workflow's running segment through {@link WorkerCallbacks#event}, for
 * the history (each is recorded under its name). Waits, failed deliveries and exits have calls of
 * their own.
 */
public enum SegmentEvent {
  /** The workflow's JVM started (details: pid, main class, how long the sandbox took). */
  PROCESS_STARTED,
  /**
   * A savepoint ({@code Durable.checkpoint()}) was committed as image {@code seq}: from now on a
   * crash resumes from it.
   */
  CHECKPOINTED,
  /** A checkpoint failed or was refused; the workflow goes on, or waits in memory (details: why). */
  CHECKPOINT_FAILED,
  /** The workflow's JVM runs again after a wake (details: how long the resume took). */
  RESUMED
}
