package dev.torpor.storage;

import java.util.regex.Pattern;

/**
 * The names of shared objects ({@link ImageStore#putShared}), checked in one place for every
 * store: one or two segments joined by {@code /}, each 1 to 160 characters from {@code A-Z a-z
 * 0-9 . _ -} starting with a letter or digit, without {@code ..}. Such a name is safe as a relative
 * file path and as an S3 key under {@code shared/}.
 */
final class SharedNames {
  /** The folder of shared objects, beside {@code images/} and {@code apps/}. */
  static final String FOLDER = "shared/";

  private static final String SEGMENT = "[A-Za-z0-9][A-Za-z0-9._-]{0,159}";
  private static final Pattern RULE = Pattern.compile(SEGMENT + "(/" + SEGMENT + ")?");
  private static final String VALID =
      "one or two segments joined by '/', each 1 to 160 characters from A-Z a-z 0-9 . _ -,"
          + " starting with a letter or digit, without '..'";

  private SharedNames() {}

  /** Whether {@code name} is a valid shared object name (false for null); never throws. */
  static boolean isValid(String name) {
    return name != null && RULE.matcher(name).matches() && !name.contains("..");
  }

  /**
   * The key of the shared object {@code name}: {@code shared/<name>}.
   *
   * @throws IllegalArgumentException naming the bad name (or 'null') and the rule
   */
  static String key(String name) {
    if (!isValid(name)) {
      throw new IllegalArgumentException("invalid shared object name '" + name + "': use " + VALID);
    }
    return FOLDER + name;
  }

  /**
   * Checks a prefix of {@link ImageStore#listShared}: empty, or the start of some valid name (a
   * whole name, a first segment and its {@code /}, or part of a segment).
   *
   * @throws IllegalArgumentException naming the bad prefix (or 'null') and the rule
   */
  static String checkPrefix(String prefix) {
    // The start of a valid name is a whole name, or it becomes one with a digit appended.
    if (prefix == null || !(prefix.isEmpty() || isValid(prefix) || isValid(prefix + "0"))) {
      throw new IllegalArgumentException("invalid shared object name prefix '" + prefix
          + "': use an empty prefix or the start of a name, and a name is " + VALID);
    }
    return prefix;
  }
}
