package dev.torpor.storage.crypto;

import java.util.Base64;
import java.util.Random;

/**
 * Test fixtures: fixed image keys and keyrings made of them. Shared with other modules' tests
 * through the test-jar.
 */
public final class TestKeys {
  private TestKeys() {}

  /** The raw bytes of test key number {@code n}: the same for the same n, different otherwise. */
  public static byte[] rawKey(int n) {
    byte[] key = new byte[ImageKeyring.KEY_BYTES];
    new Random(1_000 + n).nextBytes(key);
    return key;
  }

  /** Test key number {@code n} as a key-file line (base64, standard alphabet). */
  public static String key(int n) {
    return Base64.getEncoder().encodeToString(rawKey(n));
  }

  /** The key id of test key number {@code n}. */
  public static String keyId(int n) {
    return ImageKeyring.keyIdOf(rawKey(n));
  }

  /** A keyring of the test keys numbered {@code ns}, the first one current. */
  public static ImageKeyring keyring(int... ns) {
    StringBuilder lines = new StringBuilder();
    for (int n : ns) {
      lines.append(key(n)).append('\n');
    }
    return ImageKeyring.fromEnvironmentValue("TORPOR_TEST_IMAGE_KEYS", lines.toString());
  }
}
