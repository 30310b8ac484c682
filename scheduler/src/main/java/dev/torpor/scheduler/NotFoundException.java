package dev.torpor.scheduler;

import dev.torpor.TorporException;

/** No workflow (or application) has the given id. */
public final class NotFoundException extends TorporException {
  private static final long serialVersionUID = 1L;

  public NotFoundException(String message) {
    super(message);
  }
}
