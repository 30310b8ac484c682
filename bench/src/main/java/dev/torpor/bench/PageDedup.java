package dev.torpor.bench;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdInputStream;
import dev.torpor.storage.ImageKey;
import dev.torpor.storage.ImageStore;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

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

  /** Adds one stored (tar+zstd, unencrypted) image; what it adds. */
  PerImage add(ImageStore store, ImageKey key) throws IOException {
    try (InputStream in = store.openData(key)) {
      return add(in);
    }
  }

  PerImage add(InputStream packed) throws IOException {
    long raw = 0;
    ByteArrayOutputStream fresh = new ByteArrayOutputStream();
    try (TarArchiveInputStream tar = new TarArchiveInputStream(new ZstdInputStream(packed))) {
      TarArchiveEntry e;
      byte[] page = new byte[PAGE];
      while ((e = tar.getNextEntry()) != null) {
        if (!e.isFile()) {
          continue;
        }
        String name = e.getName().substring(e.getName().lastIndexOf('/') + 1);
        if (name.startsWith("pages-") && name.endsWith(".img")) {
          int n;
          while ((n = tar.readNBytes(page, 0, PAGE)) > 0) {
            raw += n;
            if (seen.add(ByteBuffer.wrap(sha.digest(n == PAGE ? page : java.util.Arrays.copyOf(page, n))))) {
              fresh.write(page, 0, n);
            }
          }
        } else {
          byte[] all = tar.readAllBytes();
          raw += all.length;
          fresh.write(all);
        }
      }
    }
    byte[] f = fresh.toByteArray();
    return new PerImage(raw, f.length, f.length == 0 ? 0 : Zstd.compress(f, 1).length);
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
