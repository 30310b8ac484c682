package dev.torpor.scheduler;

/** Where a workflow is in its life: {@code PENDING → RUNNING ⇄ SUSPENDED → COMPLETED | FAILED | CANCELLED}. */
public enum WorkflowState {
  /** Submitted, waiting for a worker to start it. */
  PENDING,
  /** A JVM runs it (or is being started or restored). */
  RUNNING,
  /** Frozen in an image (or, if its checkpoint failed, waiting in memory) until a timer or signal. */
  SUSPENDED,
  /** Its JVM exited with code 0. */
  COMPLETED,
  /** Its JVM exited with another code, or it could not be started or restored. */
  FAILED,
  /** An operator cancelled it. */
  CANCELLED;

  /** Whether nothing will happen to the workflow any more. */
  public boolean isFinal() {
    return this == COMPLETED || this == FAILED || this == CANCELLED;
  }
}
