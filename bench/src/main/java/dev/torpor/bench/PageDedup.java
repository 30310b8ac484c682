package dev.torpor.bench;

import com.github.luben.zstd.Zstd;
import dev.torpor.launcher.internal.ImageFiles;
import dev.torpor.storage.ImageKey;
import dev.torpor.storage.ImageNotFoundException;
import dev.torpor.storage.ImageStore;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * What page deduplication across images would store (issue #6's stretch target): reads stored
 * images one after another, splits CRIU's page files ({@code pages-*.img}) into 4 KiB pages and
 * counts, per image, the pages no earlier image had, by SHA-256. Every other file of an image
 * (process tree, registers, mappings, files: a few hundred kB) counts as new in full. This is an
 * estimate of a store that Torpor does not have: the pages are compared as CRIU wrote them, and
 * a real store would also pay for an index of pages per image.
 */
final class PageDedup {
  static final int PAGE = 4096;

  /**
   * @param rawBytes the image unpacked, bytes
   * @param newRawBytes bytes no earlier image had (new pages plus all non-page files)
   * @param newPackedBytes those new bytes compressed as the store compresses (zstd -1)
   */
  record PerImage(long rawBytes, long newRawBytes, long newPackedBytes) {}

  private final Set<ByteBuffer> seen = new HashSet<>();
  private final MessageDigest sha;

  PageDedup() {
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }

  /** Adds one stored (unencrypted) image, of either format; what it adds. */
  PerImage add(ImageStore store, ImageKey key) throws IOException {
    Path dir = Files.createTempDirectory("torpor-bench-dedup-");
    try {
      Path image = dir.resolve("image");
      ImageFiles.unpack(store, store.manifest(key).orElseThrow(() -> new ImageNotFoundException(key, store.describe())),
          Optional.empty(), image);
      long raw = 0;
      ByteArrayOutputStream fresh = new ByteArrayOutputStream();
      List<Path> files;
      try (var list = Files.list(image)) {
        files = list.sorted().toList();
      }
      for (Path f : files) {
        byte[] all = Files.readAllBytes(f);
        raw += all.length;
        String name = f.getFileName().toString();
        if (name.startsWith("pages-") && name.endsWith(".img")) {
          for (int off = 0; off < all.length; off += PAGE) {
            int n = Math.min(PAGE, all.length - off);
            sha.update(all, off, n);
            if (seen.add(ByteBuffer.wrap(sha.digest()))) {
              fresh.write(all, off, n);
            }
          }
        } else {
          fresh.write(all);
        }
      }
      byte[] b = fresh.toByteArray();
      return new PerImage(raw, b.length, b.length == 0 ? 0 : Zstd.compress(b, 1).length);
    } finally {
      try (var walk = Files.walk(dir)) {
        for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  /** Adds each image in turn. */
  static List<PerImage> over(ImageStore store, List<ImageKey> keys) throws IOException {
    PageDedup d = new PageDedup();
    List<PerImage> out = new ArrayList<>();
    for (ImageKey k : keys) {
      out.add(d.add(store, k));
    }
    return out;
  }
}
