package dev.torpor.launcher.internal;

import com.github.luben.zstd.ZstdInputStream;
import com.github.luben.zstd.ZstdOutputStream;
import dev.torpor.storage.ImageKey;
import dev.torpor.storage.crypto.ImageCipher;
import dev.torpor.storage.crypto.UnknownImageKeyException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * Packs a directory of image files into one stream (tar, then zstd, then, with image keys,
 * encryption) while hashing it, and unpacks such a stream, refusing it unless its SHA-256 matches
 * the manifest and, when encrypted, every segment authenticates. The SHA-256 and size are of the
 * bytes as stored (the ciphertext of an encrypted image), so {@code sha256sum} of a downloaded
 * object matches its manifest. Unpacking checks the hash of every byte before it reports
 * success, and leaves no directory behind on failure.
 */
public final class ImagePacker {
  /** Unpacked image files: the owner writes, the directory's group reads (see {@link Sandbox#prepareImageDir}). */
  private static final FileAttribute<Set<PosixFilePermission>> IMAGE_FILE =
      PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-r-----"));

  private final int level;
  private final ImageCipher cipher; // null: images are written in the clear

  /** A packer that writes images in the clear; see {@link #ImagePacker(int, Optional)}. */
  public ImagePacker(int level) {
    this(level, Optional.empty());
  }

  /**
   * @param level the zstd level; 1 is fast and packs a JVM image about five to one
   * @param cipher encrypts new images, and decrypts encrypted ones; without it images are
   *     written in the clear and encrypted ones cannot be unpacked
   */
  public ImagePacker(int level, Optional<ImageCipher> cipher) {
    this.level = level;
    this.cipher = cipher.orElse(null);
  }

  /**
   * What packing produced.
   *
   * @param rawBytes the size of the image files
   * @param packedBytes the size of the bytes written, as stored
   * @param sha256 hex SHA-256 of the bytes written, as stored
   * @param encryption what the manifest records of the encryption ({@link ImageCipher#encryption()}),
   *     or null if the data is not encrypted
   */
  public record Packed(long rawBytes, long packedBytes, String sha256, Map<String, String> encryption) {}

  /**
   * Packs the regular files of {@code dir} (a flat directory, as CRIU writes) into {@code out},
   * in the clear.
   *
   * @throws IllegalStateException if this packer encrypts: use {@link #pack(ImageKey, Path,
   *     OutputStream)}, which binds the ciphertext to its image
   */
  public Packed pack(Path dir, OutputStream out) throws IOException {
    if (cipher != null) {
      throw new IllegalStateException("this packer encrypts: pack(ImageKey, Path, OutputStream) names the image");
    }
    return pack(null, dir, out);
  }

  /**
   * Packs the regular files of {@code dir} (a flat directory, as CRIU writes) into {@code out} as
   * the data of image {@code key}: encrypted for it if this packer has a cipher. {@code out} is
   * flushed, not closed.
   */
  public Packed pack(ImageKey key, Path dir, OutputStream out) throws IOException {
    if (cipher != null) {
      Objects.requireNonNull(key, "key");
    }
    MessageDigest sha = sha256();
    CountingStream counted = new CountingStream(out);
    long raw = 0;
    List<Path> files = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      ds.forEach(files::add);
    }
    files.sort(null);
    OutputStream stored = new DigestOutputStream(counted, sha);
    OutputStream sealed = cipher == null ? stored : cipher.encrypt(stored, key);
    ZstdOutputStream zstd = new ZstdOutputStream(sealed, level);
    zstd.setWorkers(2);
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(zstd)) {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
      for (Path f : files) {
        if (!Files.isRegularFile(f)) {
          continue;
        }
        TarArchiveEntry e = new TarArchiveEntry(f.toFile(), f.getFileName().toString());
        tar.putArchiveEntry(e);
        raw += Files.copy(f, tar);
        tar.closeArchiveEntry();
      }
      tar.finish();
    } // closing the tar closes zstd, which closes the cipher: it writes the last segment
    return new Packed(raw, counted.count, HexFormat.of().formatHex(sha.digest()),
        cipher == null ? null : cipher.encryption());
  }

  /** Same as {@link #unpack(ImageKey, InputStream, Path, String, Map)} for an image in the clear. */
  public long unpack(ImageKey key, InputStream in, Path dir, String expectedSha256) throws IOException {
    return unpack(key, in, dir, expectedSha256, null);
  }

  /**
   * Unpacks {@code in}, the stored data of image {@code key}, into the new directory {@code dir},
   * then checks the SHA-256 of every byte read against {@code expectedSha256}. An encrypted image
   * ({@code encryption} from its manifest, null for one in the clear) is decrypted on the way,
   * and refused if any segment fails to authenticate or the data was cut short.
   *
   * @return the size of the image files
   * @throws ImageCorruptException if the data does not match, does not decrypt, or is not an
   *     image (dir is removed)
   * @throws UnknownImageKeyException if the image was encrypted with a key this packer lacks, or
   *     this packer has no keys (checked before dir is created)
   * @throws IOException if the image is encrypted with a scheme this version does not read
   *     (checked before dir is created)
   */
  public long unpack(ImageKey key, InputStream in, Path dir, String expectedSha256, Map<String, String> encryption)
      throws IOException {
    MessageDigest sha = sha256();
    DigestInputStream digested = new DigestInputStream(in, sha);
    // The shield keeps closing the tar stream from closing `digested`, which must still be drained.
    InputStream shield = new java.io.FilterInputStream(digested) {
      @Override
      public void close() {}
    };
    InputStream plain = shield;
    if (encryption != null) {
      if (cipher == null) {
        ImageCipher.requireKnownScheme(key, encryption);
        throw new UnknownImageKeyException(key, encryption.get("keyId"), List.of());
      }
      plain = cipher.decrypt(shield, key, encryption);
    }
    long raw = 0;
    Files.createDirectories(dir);
    String problem = null;
    try (TarArchiveInputStream tar = new TarArchiveInputStream(new ZstdInputStream(plain))) {
      TarArchiveEntry e;
      while ((e = tar.getNextEntry()) != null) {
        String name = e.getName();
        if (!e.isFile() || name.contains("/") || name.equals("..") || name.startsWith(".")) {
          problem = "unexpected tar entry '" + name + "'";
          break;
        }
        // 0640: a restore in a user namespace reads some files as that namespace's root, whose
        // group the directory gives them (see Sandbox); nobody else may.
        try (OutputStream out = Channels.newOutputStream(FileChannel.open(dir.resolve(name),
            Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), IMAGE_FILE))) {
          raw += tar.transferTo(out);
        }
      }
      if (problem == null) {
        // Read to the end: the last segment of an encrypted image authenticates only there.
        plain.transferTo(OutputStream.nullOutputStream());
      }
    } catch (IOException | RuntimeException e) {
      problem = "cannot unpack: " + e.getMessage();
    }
    digested.transferTo(OutputStream.nullOutputStream()); // hash every byte, also after a failure
    String actual = HexFormat.of().formatHex(sha.digest());
    if (!actual.equals(expectedSha256)) {
      deleteTree(dir);
      throw new ImageCorruptException(key, expectedSha256, actual, problem);
    }
    if (problem != null) {
      deleteTree(dir);
      throw new ImageCorruptException(key, expectedSha256, actual, problem);
    }
    return raw;
  }

  static void deleteTree(Path dir) throws IOException {
    for (int attempt = 1; ; attempt++) {
      if (!Files.exists(dir)) {
        return;
      }
      try (var walk = Files.walk(dir)) {
        for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
        return;
      } catch (java.io.UncheckedIOException e) {
        // Part of the tree went while it was listed (another thread deleting the same directory,
        // as a worker's close and a restore's own clean-up may): list what is left again.
        if (!(e.getCause() instanceof java.nio.file.NoSuchFileException) || attempt == 3) {
          throw e;
        }
      }
    }
  }

  public static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }

  private static final class CountingStream extends FilterOutputStream {
    long count;

    CountingStream(OutputStream out) {
      super(out);
    }

    @Override
    public void write(int b) throws IOException {
      out.write(b);
      count++;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
      count += len;
    }

    @Override
    public void close() throws IOException {
      flush(); // the store's stream is closed by the store's commit, not by us
    }
  }
}
