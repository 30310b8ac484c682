package dev.torpor.launcher.http;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Splits a raw URL path into percent-decoded segments (RFC 3986: '+' stays a plus). */
final class PathCodec {
  private PathCodec() {}

  /** The decoded segments of {@code rawPath} ("/v1/a%2Fb" → ["v1", "a/b"]). */
  static List<String> segments(String rawPath) {
    String p = rawPath == null ? "" : rawPath;
    if (p.startsWith("/")) {
      p = p.substring(1);
    }
    List<String> out = new ArrayList<>();
    if (p.isEmpty()) {
      return out;
    }
    for (String raw : p.split("/", -1)) {
      out.add(decode(raw));
    }
    return out;
  }

  /** One percent-decoded segment; IllegalArgumentException on a bad escape or bad UTF-8. */
  static String decode(String raw) {
    if (raw.indexOf('%') < 0) {
      return raw;
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(raw.length());
    for (int i = 0; i < raw.length(); i++) {
      char c = raw.charAt(i);
      if (c != '%') {
        byte[] b = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
        bytes.write(b, 0, b.length);
        continue;
      }
      int hi = i + 2 < raw.length() ? Character.digit(raw.charAt(i + 1), 16) : -1;
      int lo = hi >= 0 ? Character.digit(raw.charAt(i + 2), 16) : -1;
      if (lo < 0) {
        throw new IllegalArgumentException("malformed percent-encoding in the URL path segment '" + raw
            + "': '%' must be followed by two hex digits");
      }
      bytes.write(hi * 16 + lo);
      i += 2;
    }
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes.toByteArray()))
          .toString();
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException("the URL path segment '" + raw + "' is not percent-encoded UTF-8", e);
    }
  }
}
