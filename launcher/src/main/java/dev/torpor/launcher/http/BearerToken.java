package dev.torpor.launcher.http;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;

/**
 * The token every request must carry as {@code Authorization: Bearer <token>}. Compared in
 * constant time over SHA-256 digests, so neither the content nor the length of the expected
 * token leaks through timing.
 */
final class BearerToken {
  private final byte[] expectedDigest;

  BearerToken(String token) {
    if (token == null || token.isBlank()) {
      throw new IllegalArgumentException("a bearer token must not be empty");
    }
    this.expectedDigest = sha256(token);
  }

  /** Whether an {@code Authorization} header value (possibly null) carries this token. */
  boolean accepts(String authorizationHeader) {
    String presented = tokenOf(authorizationHeader);
    // Compare something even without a token, so a missing header takes the same path.
    byte[] digest = sha256(presented == null ? "" : presented);
    return MessageDigest.isEqual(expectedDigest, digest) & presented != null;
  }

  /** The token of a {@code Bearer} header (scheme case-insensitive), or null. */
  static String tokenOf(String authorizationHeader) {
    if (authorizationHeader == null) {
      return null;
    }
    String h = authorizationHeader.strip();
    int sp = h.indexOf(' ');
    if (sp < 0 || !h.substring(0, sp).toLowerCase(Locale.ROOT).equals("bearer")) {
      return null;
    }
    String token = h.substring(sp + 1).strip();
    return token.isEmpty() ? null : token;
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JDK", e);
    }
  }
}
