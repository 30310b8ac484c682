package dev.torpor.launcher.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Reads CRIU's own stats images: {@code stats-dump}, which {@code criu dump} writes into the image
 * directory, and {@code stats-restore}, which {@code criu restore} writes there at its end. A
 * stats image is two magics (service, stats), a little-endian u32 size, then a protobuf {@code
 * stats_entry} whose field 1 is a {@code dump_stats_entry} and field 2 a {@code
 * restore_stats_entry}; times are in microseconds.
 */
public final class CriuStats {
  /** The stats_entry field of a dump's stats, and of a restore's. */
  public static final int DUMP = 1;
  public static final int RESTORE = 2;
  public static final String RESTORE_FILE = "stats-restore";

  private static final int STATS_MAGIC = 0x57093306;

  private CriuStats() {}

  /**
   * The varint fields of entry {@code which} ({@link #DUMP} or {@link #RESTORE}) of a stats image,
   * indexed by field number (0 where absent; fields numbered 16 and up are left out).
   *
   * @throws IOException if {@code file} is not a CRIU stats image or has no such entry
   */
  public static long[] fields(byte[] file, int which) throws IOException {
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
      if (key == (((long) which << 3) | 2)) {
        int len = (int) entry.varint();
        return varints(new Proto(file, entry.pos, entry.pos + len));
      }
      entry.skip((int) (key & 7));
    }
    throw new IOException("the CRIU stats image has no " + (which == DUMP ? "dump" : "restore") + " entry");
  }

  /**
   * CRIU's account of the restore whose images are in {@code dir}, in ms: {@code criuForking}
   * (creating the tasks) and {@code criuRestore} (the whole restore), if CRIU has written its stats.
   */
  static Map<String, Double> restoreTimings(Path dir) {
    try {
      byte[] file = Files.readAllBytes(dir.resolve(RESTORE_FILE));
      if (file.length == 0) {
        return Map.of(); // being written: CRIU creates it, then fills it
      }
      long[] f = fields(file, RESTORE);
      Map<String, Double> out = new LinkedHashMap<>();
      out.put("criuForking", f[3] / 1e3);
      out.put("criuRestore", f[4] / 1e3);
      return out;
    } catch (NoSuchFileException e) {
      return Map.of(); // not written yet (CRIU writes it last) or not at all
    } catch (IOException e) {
      System.err.println("torpor worker: cannot read CRIU's restore stats in " + dir + ": " + e.getMessage());
      return Map.of();
    }
  }

  /**
   * Waits until {@code criu restore} has written its stats into {@code dir}, at most {@code max}:
   * it writes them at its very end, after the restored JVM runs again, so a restore directory
   * deleted as soon as the JVM reports back can get the file after its deletion began, and stay
   * (found on a loaded 2-core machine). Returns whether they are there.
   */
  static boolean awaitRestoreStats(Path dir, java.time.Duration max) throws InterruptedException {
    Path stats = dir.resolve(RESTORE_FILE);
    long deadline = System.nanoTime() + max.toNanos();
    while (true) {
      try {
        if (Files.size(stats) > 0) {
          return true;
        }
      } catch (IOException e) {
        // not there yet
      }
      if (System.nanoTime() > deadline || !Files.isDirectory(dir)) {
        return false;
      }
      Thread.sleep(10);
    }
  }

  private static long[] varints(Proto p) throws IOException {
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
    return f;
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
        case 2 -> {
          int len = (int) varint(); // read first: "pos += varint()" would add to the position before the length
          pos += len;
        }
        case 5 -> pos += 4;
        default -> throw new IOException("malformed CRIU stats image: wire type " + wireType);
      }
      if (pos > end) {
        throw new IOException("malformed CRIU stats image: field past the end");
      }
    }
  }
}
