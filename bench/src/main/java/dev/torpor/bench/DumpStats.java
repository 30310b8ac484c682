package dev.torpor.bench;

import com.github.luben.zstd.ZstdInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Optional;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * CRIU's own account of one dump: the {@code stats-dump} file that {@code criu dump} writes
 * into the image directory, and that the worker packs and stores with the rest of the image.
 * It says how the dump phase splits between freezing the tree, the time it stays frozen, and,
 * within that, draining memory pages and writing them out.
 *
 * @param freezingMillis seizing and freezing the process tree
 * @param frozenMillis how long the tree stayed frozen (from frozen to killed)
 * @param memdumpMillis collecting memory pages (part of the frozen time)
 * @param memwriteMillis writing pages to the image files (part of the frozen time)
 * @param pagesScanned pages CRIU looked at
 * @param pagesWritten pages CRIU wrote to the image
 */
record DumpStats(
    double freezingMillis,
    double frozenMillis,
    double memdumpMillis,
    double memwriteMillis,
    long pagesScanned,
    long pagesWritten) {

  static final String FILE = "stats-dump";
  private static final int STATS_MAGIC = 0x57093306;

  /** Reads {@code stats-dump} out of a packed (tar+zstd) image, if it is there. */
  static Optional<DumpStats> fromPackedImage(InputStream packed) throws IOException {
    try (TarArchiveInputStream tar = new TarArchiveInputStream(new ZstdInputStream(packed))) {
      TarArchiveEntry e;
      while ((e = tar.getNextEntry()) != null) {
        if (e.getName().equals(FILE)) {
          return Optional.of(parse(tar.readAllBytes()));
        }
      }
    }
    return Optional.empty();
  }

  /**
   * Decodes a CRIU stats image: two magics (service, stats), a little-endian u32 size, then a
   * protobuf {@code stats_entry} whose field 1 is a {@code dump_stats_entry} (times in
   * microseconds).
   */
  static DumpStats parse(byte[] file) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
    if (file.length < 12 || b.getInt(4) != STATS_MAGIC) {
      throw new IOException("not a CRIU stats image (" + file.length + " bytes)");
    }
    int size = b.getInt(8);
    if (size < 0 || 12 + size > file.length) {
      throw new IOException("truncated CRIU stats image");
    }
    Proto entry = new Proto(file, 12, 12 + size);
    while (entry.more()) {
      long key = entry.varint();
      if (key == ((1 << 3) | 2)) { // field 1, length-delimited: dump_stats_entry
        int len = (int) entry.varint();
        return dump(new Proto(file, entry.pos, entry.pos + len));
      }
      entry.skip((int) (key & 7));
    }
    throw new IOException("the CRIU stats image has no dump entry");
  }

  private static DumpStats dump(Proto p) throws IOException {
    long[] f = new long[16];
    while (p.more()) {
      long key = p.varint();
      int field = (int) (key >>> 3);
      if ((key & 7) == 0 && field < f.length) {
        f[field] = p.varint();
      } else {
        p.skip((int) (key & 7));
      }
    }
    return new DumpStats(f[1] / 1e3, f[2] / 1e3, f[3] / 1e3, f[4] / 1e3, f[5], f[7]);
  }

  /** Just enough protobuf: varints, and skipping the other wire types. */
  private static final class Proto {
    private final byte[] buf;
    private final int end;
    private int pos;

    Proto(byte[] buf, int from, int to) throws IOException {
      if (from < 0 || to > buf.length || from > to) {
        throw new IOException("malformed CRIU stats image");
      }
      this.buf = buf;
      this.pos = from;
      this.end = to;
    }

    boolean more() {
      return pos < end;
    }

    long varint() throws IOException {
      long v = 0;
      for (int shift = 0; shift < 64; shift += 7) {
        if (pos >= end) {
          throw new IOException("malformed CRIU stats image: truncated varint");
        }
        byte x = buf[pos++];
        v |= (long) (x & 0x7f) << shift;
        if (x >= 0) {
          return v;
        }
      }
      throw new IOException("malformed CRIU stats image: varint too long");
    }

    void skip(int wireType) throws IOException {
      switch (wireType) {
        case 0 -> varint();
        case 1 -> pos += 8;
        case 2 -> pos += (int) varint();
        case 5 -> pos += 4;
        default -> throw new IOException("malformed CRIU stats image: wire type " + wireType);
      }
      if (pos > end) {
        throw new IOException("malformed CRIU stats image: field past the end");
      }
    }
  }
}
