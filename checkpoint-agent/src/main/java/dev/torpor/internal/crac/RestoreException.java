package dev.torpor.internal.crac;

/**
 * The checkpoint and restore happened but resources failed in {@code afterRestore}: each
 * failure is {@linkplain #getSuppressed() suppressed}. {@code org.crac} rethrows it as an
 * {@code org.crac.RestoreException} with the same suppressed exceptions.
 */
public class RestoreException extends Exception {
  private static final long serialVersionUID = 1L;

  public RestoreException() {
    super();
  }
}
