package dev.torpor.storage;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Sizes as operators write them: bytes ({@code 8388608}) or a number with binary units ({@code 8MiB}, {@code 8m}, {@code 2 GiB}). */
public final class ByteSize {
  private static final Pattern SIZE = Pattern.compile("(\\d{1,18})\\s*(|b|k|kb|kib|m|mb|mib|g|gb|gib)");

  private ByteSize() {}

  /**
   * Parses {@code value} into bytes.
   *
   * @param example a size to show in the message when {@code value} is not one, e.g. {@code 8MiB}
   * @throws IllegalArgumentException naming {@code value}, with {@code example}, if it is not a size
   *     or is more than {@link Long#MAX_VALUE} bytes ("is too large")
   */
  public static long parse(String value, String example) {
    Matcher m = SIZE.matcher(value.strip().toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      throw new IllegalArgumentException("'" + value + "' is not a size: use bytes or a number with KiB, MiB or GiB ("
          + example + ")");
    }
    long n = Long.parseLong(m.group(1));
    int shift = switch (m.group(2)) {
      case "k", "kb", "kib" -> 10;
      case "m", "mb", "mib" -> 20;
      case "g", "gb", "gib" -> 30;
      default -> 0;
    };
    if (n > (Long.MAX_VALUE >> shift)) {
      throw new IllegalArgumentException("'" + value + "' is too large a size");
    }
    return n << shift;
  }
}
