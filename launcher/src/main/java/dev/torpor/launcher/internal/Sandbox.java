package dev.torpor.launcher.internal;

import dev.torpor.TorporException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.SocketChannel;
import jdk.net.ExtendedSocketOptions;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * Runs workflow JVMs unprivileged. Each runs as the {@link WorkflowUser}, with no capabilities,
 * in its own user, PID, mount, time and IPC namespaces, on a root of its own that shows it only
 * what its {@link SandboxPlan} lists. CRIU, as root, dumps such a tree with every bind mount
 * external and restores it, identity and namespaces included, on a root rebuilt the same way.
 *
 * <p>The run base holds everything a workflow or a restore touches, and nothing else:
 *
 * <pre>
 *   RUN_BASE/                 root:NSROOT 0710   (NSROOT: the gid of the workflow namespace's root)
 *     lib/ID/NAME             root 0755 / 0644   class path copies, content-addressed, bound read-only
 *     roots/HASH/             root 0755          a workflow's root: empty mount points only
 *     HASH/                   USER 0700          a workflow's run directory: cwd, sockets, tmp/
 * </pre>
 *
 * <p>A launch goes: {@code unshare} makes the namespaces (owned by the new user namespace, so CRIU
 * can dump them) and forks the JVM's shell, which waits; the worker writes the uid and gid maps,
 * enters the new mount and PID namespaces with {@code nsenter} to bind the plan's mounts on the
 * root, mount {@code /proc} and {@code pivot_root} into it (as the host's root, so that nothing of
 * the worker's directories needs to be reachable by the workflow's ids), then lets the shell go
 * on: it drops to the workflow user with {@code setpriv} (no capabilities, no new privileges) and
 * execs {@code java} in the run directory.
 */
public final class Sandbox {
  private final WorkflowUser user;
  private final Path runBase;
  private final Path lib;
  private final Path roots;
  /** Content ids of class path files this worker published, by path, size and modification time. */
  private final Map<String, Path> published = new ConcurrentHashMap<>();

  /** Sets up (or checks) the run base for {@code user}. */
  public Sandbox(WorkflowUser user, Path runBase) throws IOException {
    this.user = user;
    this.runBase = PrivateDirs.ensure(runBase, PrivateDirs.TRAVERSABLE, user.namespaceRootGid());
    checkReachable(this.runBase);
    this.lib = PrivateDirs.ensure(this.runBase.resolve("lib"), 0755, -1);
    this.roots = PrivateDirs.ensure(this.runBase.resolve("roots"), 0711, -1);
  }

  public WorkflowUser user() {
    return user;
  }

  public Path runBase() {
    return runBase;
  }

  /** The workflow library: class path copies, mounted read-only into workflows. */
  public Path lib() {
    return lib;
  }

  /**
   * A restore reads the run base as the workflow namespace's root, which must be able to cross
   * every directory above it.
   */
  private static void checkReachable(Path base) throws IOException {
    for (Path p = base.getParent(); p != null; p = p.getParent()) {
      int mode = (Integer) Files.getAttribute(p, "unix:mode");
      if ((mode & 0001) == 0) {
        throw new TorporException("the run directory base " + base + " lies under " + p + " (mode "
            + Integer.toOctalString(mode & 07777) + "), which other users may not cross; CRIU restores workflows as"
            + " an unprivileged user that must reach the run base: choose a --run-dir whose parents are"
            + " world-executable (such as /var/lib/torpor/run), or chmod o+x " + p);
      }
    }
  }

  /** Makes the run directory of a workflow (owned by the workflow user, 0700) and its tmp/. */
  public void prepareRunDir(Path runDir) throws IOException {
    requireUnderBase(runDir);
    if (!Files.exists(runDir, LinkOption.NOFOLLOW_LINKS)) {
      Files.createDirectory(runDir);
    } else if (Files.isSymbolicLink(runDir) || !Files.isDirectory(runDir, LinkOption.NOFOLLOW_LINKS)) {
      throw new TorporException(runDir + " is not a directory: remove it");
    }
    // The worker keeps its control socket there and reads the workflow's wake socket.
    Files.setAttribute(runDir, "unix:uid", user.uid(), LinkOption.NOFOLLOW_LINKS);
    PrivateDirs.setMode(runDir, 0700, user.gid());
    Path tmp = runDir.resolve("tmp");
    if (!Files.exists(tmp, LinkOption.NOFOLLOW_LINKS)) {
      Files.createDirectory(tmp);
      Files.setAttribute(tmp, "unix:uid", user.uid(), LinkOption.NOFOLLOW_LINKS);
      PrivateDirs.setMode(tmp, 0700, user.gid());
    }
  }

  /**
   * Lets the workflow user connect to a socket the worker made in its run directory: it becomes
   * the socket's owner (its mode, 0755 or less, lets only the owner write, which a connect needs).
   * Never follows a link: the run directory is the workflow's to change.
   */
  public void handOver(Path socket) throws IOException {
    Files.setAttribute(socket, "unix:uid", user.uid(), LinkOption.NOFOLLOW_LINKS);
  }

  /**
   * Checks that the socket {@code ch} reached at {@code path} (in a run directory, which the
   * workflow may change) is the workflow's: a workflow that put a link to another service's socket
   * there must not have the worker, as root, talk to that service.
   *
   * @throws SecurityException naming the peer otherwise
   */
  public void checkPeer(SocketChannel ch, Path path) throws IOException {
    // A socket CRIU restored was made by the namespace's root, before the JVM's ids came back.
    String peer = ch.getOption(ExtendedSocketOptions.SO_PEERCRED).user().getName();
    if (!peer.equals(Integer.toString(user.uid())) && !peer.equals(Integer.toString(user.namespaceRootUid()))) {
      throw new SecurityException("refused to talk to " + path + ": its listener runs as " + peer
          + ", not as the workflow user " + user.uid() + " (a link to another socket?)");
    }
  }

  private void requireUnderBase(Path runDir) {
    if (!runDir.toAbsolutePath().normalize().getParent().equals(runBase)) {
      throw new TorporException("run directory " + runDir + " is not directly under the run base " + runBase);
    }
  }

  /**
   * Where the JVM will find each class path entry: system files ({@code /usr}, {@code /etc})
   * where they are; anything else copied (once per content) into the library, whose copies are
   * bound read-only into the workflow at the same paths. The JVM never sees where the worker keeps
   * its own files.
   */
  public List<Path> publish(List<Path> classPath) throws IOException {
    List<Path> seen = new ArrayList<>();
    for (Path entry : classPath) {
      Path p = entry.toAbsolutePath().normalize();
      seen.add(SandboxPlan.underSystem(p) || p.startsWith(lib) ? p : publish(p));
    }
    return seen;
  }

  /** The plan of a new workflow whose class path {@link #publish} made. */
  public SandboxPlan plan(Path runDir, Path javaHome, List<Path> classPath) {
    requireUnderBase(runDir);
    List<SandboxPlan.Bind> binds = new ArrayList<>();
    for (Path entry : classPath) {
      if (SandboxPlan.underSystem(entry)) {
        continue; // visible read-only through /usr or /etc already
      }
      if (!entry.startsWith(lib)) {
        throw new IllegalArgumentException(entry + " is not in the workflow library " + lib + ": publish it first");
      }
      binds.add(new SandboxPlan.Bind(entry, entry));
    }
    return new SandboxPlan(runDir.toAbsolutePath().normalize(), javaHome, binds);
  }

  /** The plan of an image, from its manifest: sources only under this worker's library. */
  public SandboxPlan planOf(Map<String, String> restoreFacts, Path javaHome) {
    SandboxPlan plan = SandboxPlan.fromFacts(restoreFacts, javaHome, lib);
    requireUnderBase(plan.runDir());
    for (SandboxPlan.Bind b : plan.classPath()) {
      if (!Files.exists(b.source(), LinkOption.NOFOLLOW_LINKS)) {
        throw new TorporException("this worker lacks " + b.source() + ", which the image's class path entry "
            + b.inside() + " needs");
      }
    }
    return plan;
  }

  /** Copies a class path file or directory into the library, named by its content; returns the copy. */
  private Path publish(Path entry) throws IOException {
    if (Files.isDirectory(entry)) {
      Path target = lib.resolve("d-" + treeId(entry)).resolve(entry.getFileName().toString());
      if (!Files.exists(target)) {
        Path tmp = Files.createTempDirectory(lib, ".copy-");
        PrivateDirs.setMode(tmp, 0755, -1);
        copyTree(entry, tmp.resolve(entry.getFileName().toString()));
        try {
          Files.move(tmp, target.getParent(), StandardCopyOption.ATOMIC_MOVE);
        } catch (FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException e) {
          ImagePacker.deleteTree(tmp); // published by another start meanwhile: the same content
        }
      }
      return target;
    }
    String memo = entry + "|" + Files.size(entry) + "|" + Files.getLastModifiedTime(entry).toMillis();
    Path known = published.get(memo);
    if (known != null && Files.exists(known)) {
      return known;
    }
    Path dir = lib.resolve("f-" + fileId(entry));
    Path target = dir.resolve(entry.getFileName().toString());
    if (!Files.exists(target)) {
      Files.createDirectories(dir);
      PrivateDirs.setMode(dir, 0755, -1);
      Path tmp = Files.createTempFile(dir, ".copy-", ".tmp");
      Files.copy(entry, tmp, StandardCopyOption.REPLACE_EXISTING);
      PrivateDirs.setMode(tmp, 0644, -1);
      dev.torpor.storage.ContentAddressed.publish(tmp, target);
    }
    published.put(memo, target);
    return target;
  }

  private static String fileId(Path file) throws IOException {
    MessageDigest sha = ImagePacker.sha256();
    try (InputStream in = new DigestInputStream(Files.newInputStream(file), sha)) {
      in.transferTo(OutputStream.nullOutputStream());
    }
    return HexFormat.of().formatHex(sha.digest()).substring(0, 32);
  }

  /** A hash of every relative path and file content under {@code dir}. */
  private static String treeId(Path dir) throws IOException {
    MessageDigest sha = ImagePacker.sha256();
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted().toList()) {
        sha.update(dir.relativize(p).toString().getBytes(StandardCharsets.UTF_8));
        sha.update((byte) 0);
        if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
          sha.update(Files.readAllBytes(p));
        }
        sha.update((byte) 0);
      }
    }
    return HexFormat.of().formatHex(sha.digest()).substring(0, 32);
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> walk = Files.walk(from)) {
      for (Path p : walk.sorted().toList()) {
        Path t = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
          Files.createDirectories(t);
          PrivateDirs.setMode(t, 0755, -1);
        } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
          Files.copy(p, t);
          PrivateDirs.setMode(t, 0644, -1);
        } // links and special files are not class path content
      }
    }
  }

  /**
   * Builds the root a workflow is confined to: the mount points of its plan and nothing else,
   * read-only for everyone but root. Rebuilt at every launch and restore (no JVM of the workflow
   * runs meanwhile).
   */
  public Path prepareRoot(SandboxPlan plan) throws IOException {
    Path root = roots.resolve(plan.runDir().getFileName().toString());
    Path stamp = roots.resolve(plan.runDir().getFileName() + ".plan");
    String layout = layout(plan);
    if (Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS) && Files.exists(stamp)
        && Files.readString(stamp, StandardCharsets.UTF_8).equals(layout)) {
      return root; // built for the same mounts at an earlier launch or restore; nobody can write it
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
    Files.writeString(stamp, layout, StandardCharsets.UTF_8);
    return root;
  }

  /** What a root built for {@code plan} holds: its mount points and whether each is a directory. */
  private static String layout(SandboxPlan plan) {
    StringBuilder s = new StringBuilder();
    for (SandboxPlan.Mount m : plan.mounts()) {
      s.append(m.inside()).append(Files.isDirectory(m.source()) ? "/\n" : "\n");
    }
    return s.toString();
  }

  /** Deletes a workflow's root once it has exited. */
  public void discardRoot(Path runDir) {
    try {
      Files.deleteIfExists(roots.resolve(runDir.getFileName() + ".plan"));
      ImagePacker.deleteTree(roots.resolve(runDir.getFileName().toString()));
    } catch (IOException e) {
      System.err.println("torpor worker: cannot delete the root of " + runDir + ": " + e);
    }
  }

  /**
   * The command that starts a workflow JVM: {@code java} and its arguments, run as the workflow
   * user in the run directory with stdout and stderr on one pipe and stdin from {@code /dev/null},
   * once {@link #enter} has built its root. Start it with the directory {@code /} and stdin a pipe.
   *
   * @param diesWithParent whether the JVM dies with the process that starts it (a cluster worker)
   */
  public List<String> launchCommand(boolean diesWithParent, Path runDir, List<String> java) {
    List<String> cmd = new ArrayList<>();
    if (diesWithParent) {
      cmd.addAll(List.of("setpriv", "--pdeathsig", "KILL"));
    }
    cmd.addAll(List.of("unshare", "--user", "--pid", "--mount", "--time", "--ipc", "--fork", "--keep-caps"));
    if (diesWithParent) {
      cmd.add("--kill-child");
    }
    // Waits for the worker's go (its root is built then), then drops every privilege for good.
    cmd.addAll(List.of("sh", "-c", "read -r go && [ \"$go\" = go ] || exit 111; exec \"$@\"", "sh",
        "setpriv", "--reuid=" + user.uid(), "--regid=" + user.gid(), "--clear-groups", "--no-new-privs",
        "--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all",
        "setsid", "sh", "-c", "cd \"$0\" && unset PWD OLDPWD && exec \"$@\" 2>&1 </dev/null", runDir.toString()));
    cmd.addAll(java);
    return cmd;
  }

  /**
   * Completes a launch: maps the user namespace's ids, builds the root and mounts it, then tells
   * the waiting shell to go on. {@code launcher} is the started {@link #launchCommand}, whose child,
   * the namespace's first process, must exist already (nsenter's own child must not become it).
   */
  public void enter(Process launcher, SandboxPlan plan, Path root) throws IOException {
    long pid = launcher.pid();
    Path ns = Path.of("/proc", Long.toString(pid), "ns");
    Files.writeString(ns.resolveSibling("uid_map"), user.uidMap());
    Files.writeString(ns.resolveSibling("gid_map"), user.gidMap());
    List<String> cmd = List.of("nsenter", "--mount=" + ns.resolve("mnt"), "--pid=" + ns.resolve("pid_for_children"),
        "--", "sh", "-c", mountScript(plan, root));
    CriuEngine.ProcessResult r = CriuEngine.ProcessResult.run(cmd, 30);
    if (r.exitCode() != 0) {
      throw new IOException("could not build the root of the workflow in " + plan.runDir() + " (nsenter exited "
          + r.exitCode() + "): " + r.output().strip());
    }
    try (OutputStream go = launcher.getOutputStream()) {
      go.write("go\n".getBytes(StandardCharsets.US_ASCII));
    }
  }

  /** Waits until {@code launcher} (unshare) has entered its new user namespace. */
  public static void awaitUnshared(Process launcher, Duration timeout) throws IOException {
    Path mine = Files.readSymbolicLink(Path.of("/proc/self/ns/user"));
    Path theirs = Path.of("/proc", Long.toString(launcher.pid()), "ns", "user");
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      try {
        if (!Files.readSymbolicLink(theirs).equals(mine)) {
          return;
        }
      } catch (IOException e) {
        if (!launcher.isAlive()) {
          throw new IOException("unshare exited with " + launcher.exitValue() + " before making the namespaces", e);
        }
      }
      Thread.onSpinWait();
    }
    throw new IOException("unshare made no user namespace within " + timeout);
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

  /**
   * Makes {@code dir} (empty, its parents as needed) ready to receive an unpacked image that a
   * restore reads: 02710, group the namespace's root, so that the files unpacked into it (0640)
   * take that group.
   */
  public void prepareImageDir(Path dir) throws IOException {
    ImagePacker.deleteTree(dir);
    Files.createDirectories(dir);
    PrivateDirs.setMode(dir, 02710, user.namespaceRootGid());
  }

  /**
   * Opens an image directory to the restore: CRIU reads some of its files from inside the
   * workflow's user namespace, as its root, whose group may read them (0640) and nobody else.
   */
  public void makeRestorable(Path imageDir) throws IOException {
    PrivateDirs.setMode(imageDir, 02710, user.namespaceRootGid());
    try (Stream<Path> files = Files.list(imageDir)) {
      for (Path f : files.toList()) {
        if (Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
          PrivateDirs.setMode(f, 0640, user.namespaceRootGid());
        }
      }
    }
  }
}
