package dev.torpor.storage.crypto;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The image keys of a worker: 32-byte secrets, each named by a {@linkplain #keyIdOf key id}
 * that manifests may carry (the key itself is never written anywhere by Torpor).
 *
 * <p>Keys come from a key file or from the value of an environment variable, one base64 key
 * (standard or url-safe alphabet, padding optional) per line; blank lines and lines starting
 * with {@code #} are ignored. In an environment variable keys may also be separated by commas.
 * The <em>first</em> key is the current one: new images are encrypted and their manifests
 * signed with it. The others are kept to read older images. To rotate, put a new key first and
 * keep the old ones below it until no image made with them is left; an image whose key has been
 * removed can no longer be restored ({@link UnknownImageKeyException}).
 *
 * <pre>
 *   # newest first
 *   head -c 32 /dev/urandom | base64      # makes one line
 * </pre>
 *
 * <p>Immutable and thread-safe; {@link #toString()} names the source and the key ids only.
 */
public final class ImageKeyring {
  /** The size of an image key, in bytes. */
  public static final int KEY_BYTES = 32;

  private static final String HOW_TO_MAKE_ONE = "make one with: head -c 32 /dev/urandom | base64";
  private static final byte[] KEY_ID_LABEL = "torpor-image-key-v1".getBytes(StandardCharsets.US_ASCII);
  private static final Set<PosixFilePermission> GROUP_OR_OTHERS =
      EnumSet.of(
          PosixFilePermission.GROUP_READ,
          PosixFilePermission.GROUP_WRITE,
          PosixFilePermission.GROUP_EXECUTE,
          PosixFilePermission.OTHERS_READ,
          PosixFilePermission.OTHERS_WRITE,
          PosixFilePermission.OTHERS_EXECUTE);

  private final String source;
  private final Map<String, byte[]> keys; // by key id, the current one first
  private final String warning;

  private ImageKeyring(String source, Map<String, byte[]> keys, String warning) {
    this.source = source;
    this.keys = keys;
    this.warning = warning;
  }

  /**
   * Reads the keys of a key file. The file should be readable by its owner only; if group or
   * others may read it, the keyring still loads and {@link #warning()} says so.
   *
   * @throws IOException if the file cannot be read; the message names it
   * @throws IllegalArgumentException if a line is not a base64 32-byte key, or the file holds no
   *     key; the message names the file and the line
   */
  public static ImageKeyring fromFile(Path file) throws IOException {
    Objects.requireNonNull(file, "file");
    String source = "image key file " + file;
    byte[] content;
    try {
      content = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new IOException("cannot read the " + source + ": " + e, e);
    }
    String text = new String(content, StandardCharsets.UTF_8);
    return new ImageKeyring(source, parse(text.split("\r?\n", -1), source, "line"), permissionWarning(file));
  }

  /**
   * Reads the keys held by the environment variable {@code name}.
   *
   * @throws IllegalArgumentException if the variable is unset or holds no key, or an entry is
   *     not a base64 32-byte key; the message names the variable and the entry
   */
  public static ImageKeyring fromEnvironment(String name) {
    return fromEnvironmentValue(name, System.getenv(name));
  }

  /**
   * Reads keys from {@code value}, the value of the environment variable {@code name} (which is
   * only used in messages): lines or comma-separated entries, as described above.
   *
   * @throws IllegalArgumentException as {@link #fromEnvironment}
   */
  public static ImageKeyring fromEnvironmentValue(String name, String value) {
    Objects.requireNonNull(name, "name");
    String source = "environment variable " + name;
    if (value == null) {
      throw new IllegalArgumentException(
          "the " + source + " is not set; it should hold one or more base64 image keys (" + HOW_TO_MAKE_ONE + ")");
    }
    return new ImageKeyring(source, parse(value.split("\r?\n|,", -1), source, "entry"), null);
  }

  /** A new random key, as a line for a key file (base64, standard alphabet, with padding). */
  public static String generate() {
    byte[] key = new byte[KEY_BYTES];
    new SecureRandom().nextBytes(key);
    return Base64.getEncoder().encodeToString(key);
  }

  /**
   * The id of a key: the first 16 hex characters of SHA-256({@code "torpor-image-key-v1"} ||
   * key). It names the key in manifests and messages and reveals nothing usable about it.
   */
  public static String keyIdOf(byte[] key) {
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
    sha.update(KEY_ID_LABEL);
    sha.update(key);
    return HexFormat.of().formatHex(sha.digest(), 0, 8);
  }

  /** The id of the current key, the one new images are written with. */
  public String currentKeyId() {
    return keys.keySet().iterator().next();
  }

  /** The ids of every key, the current one first, then in the order of the source. */
  public List<String> keyIds() {
    return List.copyOf(keys.keySet());
  }

  /** Whether this keyring holds the key named {@code keyId}. */
  public boolean contains(String keyId) {
    return keys.containsKey(keyId);
  }

  /** Where the keys came from, e.g. {@code image key file /etc/torpor/image.keys}. */
  public String source() {
    return source;
  }

  /**
   * A warning to show the operator, if any: the key file may be read (or written) by its group
   * or by others. Torpor does not refuse such a file; the operator should {@code chmod 600} it.
   */
  public Optional<String> warning() {
    return Optional.ofNullable(warning);
  }

  /** The current key. Never leaves this package. */
  byte[] currentKey() {
    return keys.values().iterator().next();
  }

  /** The key named {@code keyId}, or null. Never leaves this package. */
  byte[] key(String keyId) {
    return keys.get(keyId);
  }

  @Override
  public String toString() {
    return "ImageKeyring[" + source + ", keys " + keyIds() + "]";
  }

  private static Map<String, byte[]> parse(String[] lines, String source, String unit) {
    Map<String, byte[]> keys = new LinkedHashMap<>();
    Map<String, Integer> firstSeen = new LinkedHashMap<>();
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i].strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      int number = i + 1;
      byte[] key = decode(line, source, unit, number);
      String id = keyIdOf(key);
      Integer earlier = firstSeen.putIfAbsent(id, number);
      if (earlier != null) {
        throw new IllegalArgumentException(
            unit + " " + number + " of the " + source + " repeats the key of " + unit + " " + earlier
                + " (key id " + id + "); remove one of them");
      }
      keys.put(id, key);
    }
    if (keys.isEmpty()) {
      throw new IllegalArgumentException(
          "the " + source + " holds no image key, only blank lines and comments; add a base64 32-byte key ("
              + HOW_TO_MAKE_ONE + ")");
    }
    return keys;
  }

  private static byte[] decode(String text, String source, String unit, int number) {
    // The key text itself is never put in a message: it may be a real key with a typo.
    boolean urlSafe = text.indexOf('-') >= 0 || text.indexOf('_') >= 0;
    byte[] key;
    try {
      key = (urlSafe ? Base64.getUrlDecoder() : Base64.getDecoder()).decode(text);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          unit + " " + number + " of the " + source + " is not base64 (standard or url-safe alphabet, one key per "
              + unit + "); an image key is 32 random bytes in base64: " + HOW_TO_MAKE_ONE);
    }
    if (key.length != KEY_BYTES) {
      throw new IllegalArgumentException(
          unit + " " + number + " of the " + source + " is a key of " + key.length + " bytes, but an image key is "
              + KEY_BYTES + " bytes (256 bits): " + HOW_TO_MAKE_ONE);
    }
    return key;
  }

  private static String permissionWarning(Path file) throws IOException {
    PosixFileAttributeView view = Files.getFileAttributeView(file, PosixFileAttributeView.class);
    if (view == null) {
      return null; // not a POSIX file system: nothing to check
    }
    List<String> loose = new ArrayList<>();
    for (PosixFilePermission p : view.readAttributes().permissions()) {
      if (GROUP_OR_OTHERS.contains(p)) {
        loose.add(p.name().toLowerCase().replace('_', ' '));
      }
    }
    if (loose.isEmpty()) {
      return null;
    }
    return "the image key file " + file + " may be accessed by others than its owner (" + String.join(", ", loose)
        + "); anyone who reads it can decrypt every image: chmod 600 " + file;
  }
}
