package dev.torpor.storage;

import java.io.IOException;

/**
 * A stored manifest cannot be used: it is truncated, is not JSON, comes from another manifest
 * format, or holds a value that breaks a rule (say, a {@code sha256} that is not 64 lowercase hex
 * characters). The message names the manifest and what is wrong with it.
 */
public final class CorruptManifestException extends IOException {
  private static final long serialVersionUID = 1L;

  private final String where;

  /**
   * @param where which manifest, e.g. its path or object key
   * @param problem what is wrong, naming the JSON key when there is one
   */
  public CorruptManifestException(String where, String problem) {
    this(where, problem, null);
  }

  /**
   * @param where which manifest, e.g. its path or object key
   * @param problem what is wrong, naming the JSON key when there is one
   * @param cause the parser's exception, if any
   */
  public CorruptManifestException(String where, String problem, Throwable cause) {
    super("corrupt manifest " + where + ": " + problem, cause);
    this.where = where;
  }

  /** Which manifest is corrupt, as passed by the reader. */
  public String where() {
    return where;
  }
}
