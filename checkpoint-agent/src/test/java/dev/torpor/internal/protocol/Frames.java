package dev.torpor.internal.protocol;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/** Frame has no value equality (its values are byte arrays), so tests compare with this. */
final class Frames {
  private Frames() {}

  /** Same type, same keys in the same order, same value bytes. */
  static boolean same(Frame a, Frame b) {
    if (a.type() != b.type()) {
      return false;
    }
    List<Map.Entry<String, byte[]>> x = new ArrayList<>(a.fields().entrySet());
    List<Map.Entry<String, byte[]>> y = new ArrayList<>(b.fields().entrySet());
    if (x.size() != y.size()) {
      return false;
    }
    for (int i = 0; i < x.size(); i++) {
      if (!x.get(i).getKey().equals(y.get(i).getKey())
          || !Arrays.equals(x.get(i).getValue(), y.get(i).getValue())) {
        return false;
      }
    }
    return true;
  }

  static String describe(Frame f) {
    StringBuilder s = new StringBuilder(f.type().name()).append('{');
    f.fields().forEach((k, v) -> s.append(k).append('=').append(
        v.length > 64 ? v.length + " bytes" : new String(v, StandardCharsets.UTF_8)).append(", "));
    return s.append('}').toString();
  }
}
