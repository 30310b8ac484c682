package dev.torpor.launcher.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * The roots workflows are confined to, one per workflow under {@code <run base>/roots/}: empty
 * mount points for its {@link SandboxPlan}, read-only for everyone but root, and the script that
 * mounts the plan on one and moves a workflow's mount namespace into it.
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
    Path root = roots.resolve(plan.runDir().getFileName().toString());
    Path stamp = roots.resolve(plan.runDir().getFileName() + ".plan");
    String layout = layout(plan);
    if (Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS) && Files.exists(stamp)
        && layoutOf(Files.readString(stamp, StandardCharsets.UTF_8)).equals(layout)) {
      writeStamp(stamp, layout, token); // built for the same mounts earlier; nobody can write it
      return root;
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
    writeStamp(stamp, layout, token);
    return root;
  }

  /** The stamp of a root: its layout, then the token of the run that may delete it. */
  private static void writeStamp(Path stamp, String layout, String token) throws IOException {
    Path tmp = stamp.resolveSibling(stamp.getFileName() + ".tmp");
    Files.writeString(tmp, layout + TOKEN + token + "\n", StandardCharsets.UTF_8);
    Files.move(tmp, stamp, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  private static String layoutOf(String stamp) {
    int t = stamp.lastIndexOf(TOKEN);
    return t < 0 ? stamp : stamp.substring(0, t);
  }

  private static final String TOKEN = "#token ";

  /** What a root built for {@code plan} holds: its mount points and whether each is a directory. */
  private static String layout(SandboxPlan plan) {
    StringBuilder s = new StringBuilder();
    for (SandboxPlan.Mount m : plan.mounts()) {
      s.append(m.inside()).append(Files.isDirectory(m.source()) ? "/\n" : "\n");
    }
    return s.toString();
  }

  /**
   * Deletes a workflow's root once its JVM is gone, if the run holding {@code token} built or took
   * it last: a root another worker has taken since (the workflow moved) is left to that worker.
   */
  void discard(Path runDir, String token) {
    Path stamp = roots.resolve(runDir.getFileName() + ".plan");
    try {
      if (!Files.exists(stamp) || !Files.readString(stamp, StandardCharsets.UTF_8).endsWith(TOKEN + token + "\n")) {
        return;
      }
      Files.deleteIfExists(stamp);
      ImagePacker.deleteTree(roots.resolve(runDir.getFileName().toString()));
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
