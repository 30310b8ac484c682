package dev.torpor.bench;

import dev.torpor.launcher.internal.CriuStats;
import dev.torpor.launcher.internal.ImageFiles;
import dev.torpor.storage.ImageManifest;
import dev.torpor.storage.ImageStore;
import dev.torpor.storage.crypto.ImageKeyring;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

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

  /** Reads {@code stats-dump} out of a stored image (either format), if it is there. */
  static Optional<DumpStats> fromImage(ImageStore store, ImageManifest m, Optional<ImageKeyring> keys)
      throws IOException {
    Path dir = Files.createTempDirectory("torpor-bench-stats-");
    try {
      Path image = dir.resolve("image");
      ImageFiles.unpack(store, m, keys, image);
      Path stats = image.resolve(FILE);
      return Files.exists(stats) ? Optional.of(parse(Files.readAllBytes(stats))) : Optional.empty();
    } finally {
      try (var walk = Files.walk(dir)) {
        for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  /** Decodes a CRIU stats image's dump entry ({@link CriuStats}). */
  static DumpStats parse(byte[] file) throws IOException {
    long[] f = CriuStats.fields(file, CriuStats.DUMP);
    return new DumpStats(f[1] / 1e3, f[2] / 1e3, f[3] / 1e3, f[4] / 1e3, f[5], f[7]);
  }
}
