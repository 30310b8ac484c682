package dev.torpor.launcher.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * A worker's scratch space: dumps waiting to be packed and images unpacked for a restore, which
 * hold workflow memory in plaintext. One directory per worker process, created 0700 under an
 * unpredictable name ({@code torpor-<hash of the data dir>-<random>}, in {@code /dev/shm} where
 * it can be, to save a disk write and read of every image). At start, a worker deletes the scratch
 * directories whose worker process is gone (a crash leaves them); at a clean stop, its own.
 */
public final class Scratch implements AutoCloseable {
  private static final String OWNER_FILE = "data-dir";

  private final Path dir;

  private Scratch(Path dir) {
    this.dir = dir;
  }

  /** {@code /dev/shm} where it is a writable directory, else {@code <dataDir>}. */
  public static Path defaultBase(Path dataDir) {
    Path shm = Path.of("/dev/shm");
    return Files.isDirectory(shm) && Files.isWritable(shm) ? shm : dataDir;
  }

  /** Makes the scratch directory of a worker with data directory {@code dataDir} under {@code base}. */
  public static Scratch create(Path base, Path dataDir) throws IOException {
    String prefix = prefix(dataDir);
    int me = PrivateDirs.currentUid();
    try (Stream<Path> entries = Files.list(base)) {
      for (Path p : entries.toList()) {
        String name = p.getFileName().toString();
        if (name.startsWith("torpor-") && ours(p, me) && abandoned(p)) {
          ImagePacker.deleteTree(p);
        }
      }
    }
    Path dir = Files.createTempDirectory(base, prefix); // 0700, random suffix
    ProcessHandle self = ProcessHandle.current();
    Files.writeString(dir.resolve(OWNER_FILE), dataDir.toAbsolutePath().normalize() + "\n" + self.pid() + "\n"
        + self.info().startInstant().map(Object::toString).orElse("?") + "\n");
    PrivateDirs.ensure(dir.resolve("dumps"));
    PrivateDirs.ensure(dir.resolve("restore"));
    return new Scratch(dir);
  }

  /** The scratch directory a live worker with data directory {@code dataDir} uses under {@code base}, if any. */
  public static Optional<Path> current(Path base, Path dataDir) throws IOException {
    String prefix = prefix(dataDir);
    try (Stream<Path> entries = Files.list(base)) {
      List<Path> mine = entries.filter(p -> p.getFileName().toString().startsWith(prefix) && !abandoned(p)).toList();
      return mine.size() == 1 ? Optional.of(mine.get(0)) : Optional.empty();
    }
  }

  private static String prefix(Path dataDir) {
    String hash = HexFormat.of().formatHex(ImagePacker.sha256().digest(
        dataDir.toAbsolutePath().normalize().toString().getBytes(StandardCharsets.UTF_8)));
    return "torpor-" + hash.substring(0, 12) + "-";
  }

  private static boolean ours(Path p, int uid) {
    try {
      return Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)
          && (Integer) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS) == uid;
    } catch (IOException e) {
      return false;
    }
  }

  /** A scratch directory whose worker process is gone: nobody else will clean it. */
  private static boolean abandoned(Path p) {
    List<String> owner;
    try {
      owner = Files.readAllLines(p.resolve(OWNER_FILE));
    } catch (IOException e) {
      return false; // not one of ours after all, or half made: leave it
    }
    if (owner.size() < 3) {
      return false;
    }
    try {
      long pid = Long.parseLong(owner.get(1).strip());
      return ProcessHandle.of(pid).flatMap(h -> h.info().startInstant()).map(Object::toString)
          .filter(owner.get(2).strip()::equals).isEmpty();
    } catch (NumberFormatException e) {
      return false;
    }
  }

  public Path dir() {
    return dir;
  }

  /** Where dumps go: {@code dumps/<workflow>/<seq>}. */
  Path dumps() {
    return dir.resolve("dumps");
  }

  /** Where images are unpacked for a restore: {@code restore/<workflow>/<seq>}. */
  Path restores() {
    return dir.resolve("restore");
  }

  /** Where committed images' dumps are kept for a wake on this worker: {@code cache/<workflow>/<seq>} ({@link ImageCache}). */
  Path cache() {
    return dir.resolve("cache");
  }

  @Override
  public void close() {
    try {
      ImagePacker.deleteTree(dir);
    } catch (IOException e) {
      System.err.println("torpor worker: cannot delete its scratch directory " + dir + ": " + e);
    }
  }
}
