package dev.torpor;

import java.util.regex.Pattern;

/**
 * A valid workflow id: 1 to 128 characters from {@code A-Z a-z 0-9 . _ -}, starting with a
 * letter or digit, without {@code ..}. Such an id is safe as a file name, a path segment and an
 * S3 key segment. The one rule for every place an id enters Torpor (the HTTP API, the CLI, the
 * control plane, image stores): a {@code WorkflowId} has been checked once and is valid.
 *
 * @param value the id itself
 */
public record WorkflowId(String value) {
  private static final Pattern RULE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

  /** @throws IllegalArgumentException naming the bad id (or 'null') and the rule */
  public WorkflowId {
    if (!isValid(value)) {
      throw new IllegalArgumentException("invalid workflow id '" + value
          + "': use 1 to 128 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit, without '..'");
    }
  }

  /**
   * Parses {@code value} as a workflow id.
   *
   * @throws IllegalArgumentException naming the bad id and the rule
   */
  public static WorkflowId of(String value) {
    return new WorkflowId(value);
  }

  /** Whether {@code value} is a valid workflow id (false for null); never throws. */
  public static boolean isValid(String value) {
    return value != null && RULE.matcher(value).matches() && !value.contains("..");
  }

  /** The raw id. */
  @Override
  public String toString() {
    return value;
  }
}
