package dev.torpor.scheduler;

/**
 * The rule for an idempotency key, checked in one place for the control plane, the HTTP API and
 * the CLI: 1 to 128 printable ASCII characters, without spaces (a key travels in an HTTP header,
 * whose surrounding spaces a proxy may drop).
 */
public final class IdempotencyKey {
  /** The longest key accepted. */
  public static final int MAX_LENGTH = 128;

  private IdempotencyKey() {}

  /**
   * Returns {@code key} if it follows the rule.
   *
   * @throws IllegalArgumentException saying what is wrong, if it does not
   */
  public static String check(String key) {
    if (key == null || key.isEmpty() || key.length() > MAX_LENGTH || !key.chars().allMatch(ch -> ch > 0x20 && ch < 0x7f)) {
      String shown = key == null ? "null" : key.length() > 40 ? key.substring(0, 40) + "..." : key;
      throw new IllegalArgumentException("invalid idempotency key '" + shown + "'"
          + (key == null ? "" : " (" + key.length() + " characters)") + ": use 1 to " + MAX_LENGTH
          + " printable ASCII characters without spaces, such as a UUID, and the same key for every retry of one request");
    }
    return key;
  }
}
