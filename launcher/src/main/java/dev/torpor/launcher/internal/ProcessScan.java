package dev.torpor.launcher.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * Finds workflow JVMs by their working directory, which is their run directory: those a dead
 * server left behind, or a stale copy whose worker lost its lease.
 */
public final class ProcessScan {
  private ProcessScan() {}

  /** Kills every process whose working directory is {@code dir}; returns their pids. */
  public static List<Long> killWithCwd(Path dir) throws IOException {
    Path exact = dir.toAbsolutePath().normalize();
    return killWhere(exact::equals);
  }

  /** Kills every process whose working directory is under (not at) {@code base}; returns their pids. */
  public static List<Long> killUnder(Path base) throws IOException {
    Path b = base.toAbsolutePath().normalize();
    return killWhere(cwd -> cwd.startsWith(b) && !cwd.equals(b));
  }

  private static List<Long> killWhere(Predicate<Path> cwdMatches) throws IOException {
    List<Long> killed = new ArrayList<>();
    long self = ProcessHandle.current().pid();
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      for (Path p : procs.toList()) {
        String name = p.getFileName().toString();
        if (!name.chars().allMatch(Character::isDigit) || Long.parseLong(name) == self) {
          continue;
        }
        Path cwd;
        try {
          cwd = Files.readSymbolicLink(p.resolve("cwd"));
        } catch (IOException | SecurityException e) {
          continue; // gone meanwhile, or a kernel thread
        }
        if (cwdMatches.test(cwd)) {
          long pid = Long.parseLong(name);
          ProcessHandle.of(pid).ifPresent(h -> {
            if (h.destroyForcibly()) {
              killed.add(pid);
            }
          });
        }
      }
    }
    return killed;
  }
}
