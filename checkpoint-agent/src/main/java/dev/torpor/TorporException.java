package dev.torpor;

/**
 * The root of every exception Torpor throws. Unchecked: a workflow rarely has anything
 * better to do than to fail, and the worker records the failure with its stack trace.
 * Subclasses carry the context (workflow id, checkpoint sequence number) they know.
 */
public class TorporException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public TorporException(String message) {
    super(message);
  }

  public TorporException(String message, Throwable cause) {
    super(message, cause);
  }
}
