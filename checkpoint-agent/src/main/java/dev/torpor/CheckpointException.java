package dev.torpor;

/**
 * A checkpoint could not be made: a registered resource refused in {@code
 * beforeCheckpoint}, or the worker could not dump or store the image. The JVM is still
 * running and nothing was lost; failures of several resources are attached as
 * {@linkplain #getSuppressed() suppressed} exceptions.
 *
 * <p>Only {@link Durable#checkpoint()} throws it: a wait whose checkpoint fails is honoured
 * in memory instead (the worker records the failure), because the caller asked to wait,
 * not to persist.
 */
public class CheckpointException extends TorporException {
  private static final long serialVersionUID = 1L;

  private final String workflowId;

  public CheckpointException(String workflowId, String message) {
    super(message);
    this.workflowId = workflowId;
  }

  public CheckpointException(String workflowId, String message, Throwable cause) {
    super(message, cause);
    this.workflowId = workflowId;
  }

  /** The workflow whose checkpoint failed. */
  public String workflowId() {
    return workflowId;
  }
}
