package dev.torpor.launcher.internal;

/** A dump did not succeed; the process keeps running. */
public final class DumpFailedException extends Exception {
  private static final long serialVersionUID = 1L;

  public DumpFailedException(String message) {
    super(message);
  }
}
