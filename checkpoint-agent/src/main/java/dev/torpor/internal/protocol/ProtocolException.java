package dev.torpor.internal.protocol;

import dev.torpor.TorporException;

/** A frame that is not a valid Torpor protocol frame: bad magic, version, type or length. */
public final class ProtocolException extends TorporException {
  private static final long serialVersionUID = 1L;

  public ProtocolException(String message) {
    super(message);
  }
}
