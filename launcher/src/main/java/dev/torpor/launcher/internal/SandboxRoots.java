package dev.torpor.launcher.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * The roots workflows are confined to under {@code <run base>/roots/}: empty mount points for a
 * {@link SandboxPlan}, read-only for everyone but root, and the script that mounts the plan on one
 * and moves a workflow's mount namespace into it. Each run of a workflow on a worker has a root of
 * its own ({@code <run dir name>.<token>}): workers of a cluster share the run base, and a worker
 * that lost a workflow must never rebuild or delete the root in which the new owner's JVM runs
 * (deleting a mount point detaches the mounts on it in every namespace; ClusterIT's stall test
 * caught a stale worker doing so). A root's stamp names the worker process that built it, so
 * roots left by a worker that died are swept at the next start.
 */
final class SandboxRoots {
  private final Path roots;

  SandboxRoots(Path roots) {
    this.roots = roots;
  }

  /**
   * Builds the root a workflow is confined to: the mount points of its plan and nothing else,
   * read-only for everyone but root. Reused while its mounts are the same (a savepoint, a restore
   * from a local dump), rebuilt when they differ (no JVM of the workflow runs meanwhile).
   */
  Path prepare(SandboxPlan plan, String token) throws IOException {
    Path root = root(plan.runDir(), token);
    Path stamp = stamp(plan.runDir(), token);
    String layout = layout(plan);
    if (Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS) && Files.exists(stamp)
        && layoutOf(Files.readString(stamp, StandardCharsets.UTF_8)).equals(layout)) {
      return root; // this run built it for the same mounts earlier; nobody can write it
    }
    Files.deleteIfExists(stamp);
    ImagePacker.deleteTree(root);
    Files.createDirectory(root);
    PrivateDirs.setMode(root, 0755, -1);
    for (String dir : SandboxPlan.SYSTEM) {
      Path host = Path.of("/", dir);
      if (Files.isSymbolicLink(host)) {
        Files.createSymbolicLink(root.resolve(dir), Files.readSymbolicLink(host));
      }
    }
    for (String d : List.of("proc", "dev", "tmp")) {
      Files.createDirectories(root.resolve(d));
    }
    Files.createSymbolicLink(root.resolve("dev/fd"), Path.of("/proc/self/fd"));
    Files.createSymbolicLink(root.resolve("dev/stdin"), Path.of("/proc/self/fd/0"));
    Files.createSymbolicLink(root.resolve("dev/stdout"), Path.of("/proc/self/fd/1"));
    Files.createSymbolicLink(root.resolve("dev/stderr"), Path.of("/proc/self/fd/2"));
    List<SandboxPlan.Mount> mounts = plan.mounts();
    for (SandboxPlan.Mount m : mounts) {
      if (mounts.stream().anyMatch(o -> o != m && m.inside().startsWith(o.inside()))) {
        continue; // its mount point is inside another mount: it is there already
      }
      Path point = root.resolve(m.inside().toString().substring(1));
      Files.createDirectories(point.getParent());
      if (Files.isDirectory(m.source())) {
        Files.createDirectories(point);
      } else if (!Files.exists(point, LinkOption.NOFOLLOW_LINKS)) {
        Files.createFile(point);
      }
    }
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.toList()) {
        if (!Files.isSymbolicLink(p)) {
          PrivateDirs.setMode(p, Files.isDirectory(p) ? 0755 : 0444, -1);
        }
      }
    }
    writeStamp(stamp, layout);
    return root;
  }

  private Path root(Path runDir, String token) {
    return roots.resolve(runDir.getFileName() + "." + token);
  }

  private Path stamp(Path runDir, String token) {
    return roots.resolve(runDir.getFileName() + "." + token + STAMP);
  }

  /** The stamp of a root, written last: its layout, then the worker process that built it. */
  private static void writeStamp(Path stamp, String layout) throws IOException {
    Path tmp = stamp.resolveSibling(stamp.getFileName() + ".tmp");
    Files.writeString(tmp, layout + BUILDER + SELF + "\n", StandardCharsets.UTF_8);
    Files.move(tmp, stamp, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  private static String layoutOf(String stamp) {
    int t = stamp.lastIndexOf(BUILDER);
    return t < 0 ? stamp : stamp.substring(0, t);
  }

  private static final String STAMP = ".plan";
  private static final String BUILDER = "#worker ";
  /** This worker process: its pid and start time, which a pid reused later does not share. */
  private static final String SELF = processName(ProcessHandle.current());

  private static String processName(ProcessHandle h) {
    return h.pid() + " " + h.info().startInstant().map(i -> Long.toString(i.toEpochMilli())).orElse("?");
  }

  /**
   * Deletes the roots of worker processes that are gone (killed while their workflows ran), and
   * unstamped roots over an hour old (a build cut short); returns how many.
   */
  int sweepDead() throws IOException {
    int swept = 0;
    try (Stream<Path> all = Files.list(roots)) {
      for (Path p : all.toList()) {
        String name = p.getFileName().toString();
        if (name.endsWith(STAMP) || name.endsWith(STAMP + ".tmp") || !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
          continue;
        }
        Path stamp = p.resolveSibling(name + STAMP);
        boolean dead;
        if (Files.exists(stamp)) {
          String text = Files.readString(stamp, StandardCharsets.UTF_8);
          int b = text.lastIndexOf(BUILDER);
          String builder = b < 0 ? "" : text.substring(b + BUILDER.length()).strip();
          String[] f = builder.split(" ");
          dead = f.length != 2 || ProcessHandle.of(parsePid(f[0])).map(h -> !processName(h).equals(builder)).orElse(true);
        } else {
          dead = Files.getLastModifiedTime(p).toInstant().isBefore(java.time.Instant.now().minus(java.time.Duration.ofHours(1)));
        }
        if (dead) {
          Files.deleteIfExists(stamp);
          ImagePacker.deleteTree(p);
          swept++;
        }
      }
    }
    return swept;
  }

  private static long parsePid(String s) {
    try {
      return Long.parseLong(s);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** What a root built for {@code plan} holds: its mount points and whether each is a directory. */
  private static String layout(SandboxPlan plan) {
    StringBuilder s = new StringBuilder();
    for (SandboxPlan.Mount m : plan.mounts()) {
      s.append(m.inside()).append(Files.isDirectory(m.source()) ? "/\n" : "\n");
    }
    return s.toString();
  }

  /**
   * Deletes the root of the run holding {@code token}, once its JVM is gone; no other run's root,
   * on this worker or another, is touched.
   */
  void discard(Path runDir, String token) {
    try {
      Files.deleteIfExists(stamp(runDir, token));
      ImagePacker.deleteTree(root(runDir, token));
    } catch (IOException e) {
      System.err.println("torpor worker: cannot delete the root of " + runDir + ": " + e);
    }
  }

  /** The shell script nsenter runs in the new namespaces, as the host's root. */
  static String mountScript(SandboxPlan plan, Path root) {
    StringBuilder s = new StringBuilder("set -e\n");
    String r = quote(root.toString());
    s.append("mount --bind ").append(r).append(' ').append(r).append('\n');
    for (SandboxPlan.Mount m : plan.mounts()) {
      s.append("mount --bind -o ").append(m.kind().options).append(' ').append(quote(m.source().toString())).append(' ')
          .append(quote(root + m.inside().toString())).append('\n');
    }
    s.append("mount -t proc -o nosuid,nodev,noexec proc ").append(quote(root + "/proc")).append('\n');
    s.append("mount -o remount,bind,ro,nosuid,nodev ").append(r).append('\n');
    s.append("cd ").append(r).append("\npivot_root . .\numount -l .\n");
    return s.toString();
  }

  static String quote(String s) {
    return "'" + s.replace("'", "'\"'\"'") + "'";
  }

}
