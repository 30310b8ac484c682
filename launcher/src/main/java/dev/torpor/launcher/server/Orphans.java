package dev.torpor.launcher.server;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Workflow JVMs left running by a worker that died (kill -9 does not take its children with
 * it). Their workflows resume from their last image elsewhere, so the old copies must go
 * first: one live copy at a time. A workflow JVM is recognised by its working directory,
 * which is its run directory under the run base.
 */
final class Orphans {
  private Orphans() {}

  /** Kills every process whose working directory is under {@code runBase}; returns their pids. */
  static List<Long> killUnder(Path runBase) throws IOException {
    Path base = runBase.toAbsolutePath().normalize();
    List<Long> killed = new ArrayList<>();
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      for (Path p : procs.toList()) {
        String name = p.getFileName().toString();
        if (!name.chars().allMatch(Character::isDigit)) {
          continue;
        }
        Path cwd;
        try {
          cwd = Files.readSymbolicLink(p.resolve("cwd"));
        } catch (IOException | SecurityException e) {
          continue; // gone meanwhile, or a kernel thread
        }
        if (cwd.startsWith(base) && !cwd.equals(base)) {
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
