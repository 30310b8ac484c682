package dev.torpor.internal.crac;

/**
 * A checkpoint did not happen: each resource's failure (or the worker's) is {@linkplain
 * #getSuppressed() suppressed}. {@code org.crac} rethrows it as an {@code
 * org.crac.CheckpointException} with the same suppressed exceptions.
 */
public class CheckpointException extends Exception {
  private static final long serialVersionUID = 1L;

  public CheckpointException() {
    super();
  }
}
