package dev.torpor.bench;

import com.github.luben.zstd.ZstdInputStream;
import dev.torpor.launcher.internal.CriuStats;
import java.io.IOException;
import java.io.InputStream;
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

  /** Decodes a CRIU stats image's dump entry ({@link CriuStats}). */
  static DumpStats parse(byte[] file) throws IOException {
    long[] f = CriuStats.fields(file, CriuStats.DUMP);
    return new DumpStats(f[1] / 1e3, f[2] / 1e3, f[3] / 1e3, f[4] / 1e3, f[5], f[7]);
  }
}
