package dev.torpor.storage;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * What both stores do alike with application jars: their key ({@code apps/<sha256>.jar}, beside
 * {@code images/}), the check of a SHA-256 string, and the hashing of a jar as it is stored or
 * fetched.
 */
final class AppJars {
  static final String CONTENT_TYPE = "application/java-archive";

  private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

  private AppJars() {}

  /**
   * The key of the jar stored under {@code sha256}.
   *
   * @throws IllegalArgumentException naming the value unless it is 64 lowercase hex characters
   */
  static String key(String sha256) {
    if (sha256 == null || !SHA256.matcher(sha256).matches()) {
      throw new IllegalArgumentException(
          "invalid application jar SHA-256 '" + sha256 + "': use 64 lowercase hex characters"
              + " (the SHA-256 of the jar)");
    }
    return "apps/" + sha256 + ".jar";
  }

  /**
   * Opens {@code jar} to be stored under {@code sha256}: a stream of its bytes, hashed as they are
   * read, that throws {@link IllegalArgumentException} instead of handing out the last bytes if
   * their SHA-256 is not {@code sha256}, so that a wrong jar is never stored whole.
   */
  static CheckedJar open(Path jar, String sha256) throws IOException {
    return open(jar, sha256, Files.size(jar));
  }

  /** Like {@link #open(Path, String)}, for a jar measured before: hands out {@code size} bytes. */
  static CheckedJar open(Path jar, String sha256, long size) throws IOException {
    return new CheckedJar(Files.newInputStream(jar), jar, sha256, size);
  }

  /**
   * Copies the jar read from {@code in} to {@code target} through a temp file in its folder, and
   * publishes it at {@code target} (see {@link ContentAddressed}: a file already there is kept)
   * only if its SHA-256 is {@code sha256}.
   *
   * @param source where the jar is read from, for messages: a path or an object URL
   * @throws IOException naming {@code source} if the jar read is not the one stored under {@code
   *     sha256}; the temp file is removed and {@code target} left as it was
   */
  static void copyChecked(InputStream in, String sha256, Path target, String source)
      throws IOException {
    Path absolute = target.toAbsolutePath();
    Path temp =
        Files.createTempFile(absolute.getParent(), "." + absolute.getFileName() + "-", ".tmp");
    try {
      MessageDigest digest = newDigest();
      FileSync.copyDurably(new DigestInputStream(in, digest), temp);
      String actual = HexFormat.of().formatHex(digest.digest());
      if (!actual.equals(sha256)) {
        throw new IOException(
            "corrupt application jar " + sha256 + " at " + source + ": its SHA-256 is " + actual
                + "; the store was damaged: remove that copy by hand and put the jar again");
      }
      ContentAddressed.publish(temp, absolute);
    } catch (IOException | RuntimeException e) {
      deleteAfterFailure(temp, e);
      throw e;
    }
  }

  /** Removes {@code file} (if any) after {@code failure}, adding a failure to remove it to it. */
  private static void deleteAfterFailure(Path file, Exception failure) {
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      failure.addSuppressed(e);
    }
  }

  private static MessageDigest newDigest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  /**
   * A jar being read to be stored: at most the size it had when opened, hashed; the read that
   * reaches its end checks the hash before it hands out the last bytes.
   */
  static final class CheckedJar extends InputStream {
    private final InputStream in;
    private final Path jar;
    private final String sha256;
    private final long size;
    private final MessageDigest digest = newDigest();
    private long read;
    /** The hash of the whole jar, once it is read. */
    private String actual;
    private volatile IllegalArgumentException refusal;

    private CheckedJar(InputStream in, Path jar, String sha256, long size) {
      this.in = in;
      this.jar = jar;
      this.sha256 = sha256;
      this.size = size;
    }

    /** Why the jar was refused once it was read whole, or null. */
    IllegalArgumentException refusal() {
      return refusal;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      int n = read(one, 0, 1);
      return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (read == size) {
        check();
        return -1;
      }
      if (len == 0) {
        return 0;
      }
      int n = in.read(b, off, (int) Math.min(len, size - read));
      if (n < 0) {
        throw new IOException(
            "the application jar " + jar + " shrank from " + size + " to " + read + " bytes while"
                + " it was read; store it again once nothing writes to it");
      }
      digest.update(b, off, n);
      read += n;
      if (read == size) {
        check(); // before the caller has every byte: a wrong jar is never stored whole
      }
      return n;
    }

    private void check() {
      if (actual == null) {
        actual = HexFormat.of().formatHex(digest.digest());
      }
      if (!actual.equals(sha256)) {
        refusal =
            new IllegalArgumentException(
                "the application jar " + jar + " has SHA-256 " + actual + ", not " + sha256
                    + "; it was not stored: pass the SHA-256 of the jar (did it change since it"
                    + " was hashed?)");
        throw refusal;
      }
    }

    @Override
    public void close() throws IOException {
      in.close();
    }
  }
}
