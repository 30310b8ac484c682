package dev.torpor.scheduler;

import dev.torpor.TorporException;

/** The request contradicts the workflow's state or an earlier request under the same id. */
public final class ConflictException extends TorporException {
  private static final long serialVersionUID = 1L;

  public ConflictException(String message) {
    super(message);
  }
}
