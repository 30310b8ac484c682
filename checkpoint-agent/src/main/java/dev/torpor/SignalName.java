package dev.torpor;

/**
 * A valid signal name: 1 to {@value #MAX_LENGTH} characters, none of them a control character.
 * The one rule for every place a name enters Torpor (the workflow's wait, the CLI, the HTTP API,
 * the control plane): a {@code SignalName} has been checked once and is valid.
 *
 * @param value the name itself
 */
public record SignalName(String value) {
  /** The longest signal name, in characters. */
  public static final int MAX_LENGTH = 128;

  /** @throws IllegalArgumentException naming the bad name (or 'null') and the rule */
  public SignalName {
    if (value == null || value.isEmpty() || value.length() > MAX_LENGTH || value.chars().anyMatch(Character::isISOControl)) {
      throw new IllegalArgumentException("invalid signal name '" + value + "': use 1 to " + MAX_LENGTH
          + " characters, none of them a control character");
    }
  }

  /**
   * Parses {@code value} as a signal name.
   *
   * @throws IllegalArgumentException naming the bad name and the rule
   */
  public static SignalName of(String value) {
    return new SignalName(value);
  }

  /** The raw name. */
  @Override
  public String toString() {
    return value;
  }
}
