package dev.torpor.launcher.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.stream.Stream;

/** Directories for a test's data and run bases. */
final class TestDirs {
  private TestDirs() {}

  /**
   * A new directory under /tmp that others may cross but not list (0711): a test keeps its data
   * directory (which Torpor makes 0700) and its run base in it, and CRIU, restoring a workflow as
   * an unprivileged user, must reach the run base through it.
   */
  static Path traversable(String prefix) throws IOException {
    Path dir = Files.createTempDirectory(Path.of("/tmp"), prefix);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
    return dir;
  }

  /** Deletes {@code dir} and everything under it (links themselves, not what they point to); nothing if absent. */
  static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
