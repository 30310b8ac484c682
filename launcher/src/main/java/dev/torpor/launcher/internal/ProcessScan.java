package dev.torpor.launcher.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
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

  /**
   * Kills the matching processes and waits until they are gone: a dying JVM still holds its
   * sockets, and a wake sent to its listening socket meanwhile would be lost with it.
   */
  /**
   * Kills the workflow JVMs under {@code base} that no worker holds any more: their parent (the
   * launcher or restore waiter that a worker started) is gone and they were handed to init. A
   * restore killed half-way (its worker died with it) can leave such a JVM, waiting for a wake
   * that will not come. The JVMs of other live workers sharing the run base keep their parents.
   */
  public static List<Long> killOrphansUnder(Path base) throws IOException {
    Path b = base.toAbsolutePath().normalize();
    return killWhere(cwd -> cwd.startsWith(b) && !cwd.equals(b), pid -> parentOf(pid) == 1);
  }

  /**
   * Kills the processes of the workflow user (real uid {@code uids}) that no worker holds: handed
   * to init. A restore killed half-way leaves its tree with the namespace root's uid and whatever
   * working directory CRIU had got to, so its working directory does not find it; it may hold the
   * workflow's wake socket, where the next restore's wake would then wait forever. Call it with the
   * namespace root's uid only: nothing runs as that uid but CRIU's restore, whose tree has CRIU as
   * its parent until the restore ends and the JVM's own ids come back.
   */
  public static List<Long> killOrphansOf(int... uids) throws IOException {
    return killWhere(cwd -> true, pid -> parentOf(pid) == 1 && java.util.Arrays.stream(uids).anyMatch(u -> u == uidOf(pid)));
  }

  private static int uidOf(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
        if (line.startsWith("Uid:")) {
          return Integer.parseInt(line.substring(4).strip().split("\\s+")[0]);
        }
      }
    } catch (IOException | RuntimeException e) {
      // gone meanwhile
    }
    return -1;
  }

  private static long parentOf(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      return Long.parseLong(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[1]);
    } catch (IOException | RuntimeException e) {
      return -1; // gone meanwhile
    }
  }

  private static List<Long> killWhere(Predicate<Path> cwdMatches) throws IOException {
    return killWhere(cwdMatches, pid -> true);
  }

  /** The processes (but this one) whose working directory is {@code dir}. */
  public static List<Long> withCwd(Path dir) throws IOException {
    return pidsWhere(dir::equals);
  }

  private static List<Long> pidsWhere(Predicate<Path> cwdMatches) throws IOException {
    List<Long> found = new ArrayList<>();
    long self = ProcessHandle.current().pid();
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      for (Path p : procs.toList()) {
        String name = p.getFileName().toString();
        if (!name.chars().allMatch(Character::isDigit) || Long.parseLong(name) == self) {
          continue;
        }
        try {
          if (cwdMatches.test(Files.readSymbolicLink(p.resolve("cwd")))) {
            found.add(Long.parseLong(name));
          }
        } catch (IOException | SecurityException e) {
          // gone meanwhile, or a kernel thread
        }
      }
    }
    return found;
  }

  private static List<Long> killWhere(Predicate<Path> cwdMatches, java.util.function.LongPredicate also) throws IOException {
    List<Long> killed = new ArrayList<>();
    List<ProcessHandle> dying = new ArrayList<>();
    for (long pid : pidsWhere(cwdMatches)) {
      if (also.test(pid)) {
        ProcessHandle.of(pid).ifPresent(h -> {
          if (h.destroyForcibly()) {
            killed.add(pid);
            dying.add(h);
          }
        });
      }
    }
    for (ProcessHandle h : dying) {
      try {
        h.onExit().get(10, TimeUnit.SECONDS);
      } catch (ExecutionException | TimeoutException e) {
        throw new IOException("process " + h.pid() + " did not exit within 10 s of SIGKILL", e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while waiting for process " + h.pid() + " to exit", e);
      }
    }
    return killed;
  }
}
