package dev.torpor.launcher.internal;

import com.github.luben.zstd.ZstdInputStream;
import com.github.luben.zstd.ZstdOutputStream;
import dev.torpor.storage.ImageKey;
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
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * Packs a directory of image files into one stream (tar, then zstd) while hashing it, and
 * unpacks such a stream, refusing it unless its SHA-256 matches the manifest. Unpacking checks
 * the hash of every byte before it reports success, and leaves no directory behind on failure.
 */
public final class ImagePacker {
  private final int level;

  /** @param level the zstd level; 1 is fast and packs a JVM image about five to one */
  public ImagePacker(int level) {
    this.level = level;
  }

  /** What packing produced. */
  public record Packed(long rawBytes, long packedBytes, String sha256) {}

  /** Packs the regular files of {@code dir} (a flat directory, as CRIU writes) into {@code out}. */
  public Packed pack(Path dir, OutputStream out) throws IOException {
    MessageDigest sha = sha256();
    CountingStream counted = new CountingStream(out);
    long raw = 0;
    List<Path> files = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      ds.forEach(files::add);
    }
    files.sort(null);
    ZstdOutputStream zstd = new ZstdOutputStream(new DigestOutputStream(counted, sha), level);
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
    }
    return new Packed(raw, counted.count, HexFormat.of().formatHex(sha.digest()));
  }

  /**
   * Unpacks {@code in} into the new directory {@code dir}, then checks the SHA-256 of every
   * byte read against {@code expectedSha256}.
   *
   * @throws ImageCorruptException if the data does not match (dir is removed)
   */
  public long unpack(ImageKey key, InputStream in, Path dir, String expectedSha256) throws IOException {
    MessageDigest sha = sha256();
    DigestInputStream digested = new DigestInputStream(in, sha);
    long raw = 0;
    Files.createDirectories(dir);
    String problem = null;
    // The shield keeps closing the tar stream from closing `digested`, which must still be drained.
    InputStream shield = new java.io.FilterInputStream(digested) {
      @Override
      public void close() {}
    };
    try (TarArchiveInputStream tar = new TarArchiveInputStream(new ZstdInputStream(shield))) {
      TarArchiveEntry e;
      while ((e = tar.getNextEntry()) != null) {
        String name = e.getName();
        if (!e.isFile() || name.contains("/") || name.equals("..") || name.startsWith(".")) {
          problem = "unexpected tar entry '" + name + "'";
          break;
        }
        raw += Files.copy(tar, dir.resolve(name));
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
    if (!Files.exists(dir)) {
      return;
    }
    try (var walk = Files.walk(dir)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  static MessageDigest sha256() {
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
