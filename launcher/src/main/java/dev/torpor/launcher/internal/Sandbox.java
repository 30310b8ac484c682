package dev.torpor.launcher.internal;

import dev.torpor.TorporException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import jdk.net.ExtendedSocketOptions;

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
  private final WorkflowLibrary library;
  private final SandboxRoots roots;

  /** Sets up (or checks) the run base for {@code user}. */
  public Sandbox(WorkflowUser user, Path runBase) throws IOException {
    this.user = user;
    this.runBase = PrivateDirs.ensure(runBase, PrivateDirs.TRAVERSABLE, user.namespaceRootGid());
    checkReachable(this.runBase);
    this.library = new WorkflowLibrary(PrivateDirs.ensure(this.runBase.resolve("lib"), 0755, -1));
    this.roots = new SandboxRoots(PrivateDirs.ensure(this.runBase.resolve("roots"), 0711, -1));
    mountPlainProc();
  }

  /**
   * Where this machine's {@code /proc} has mounts over parts of it (a container engine masks
   * {@code /proc/kcore}, {@code /proc/keys}, ... that way), mounts a plain {@code /proc} at
   * {@code /run/torpor-host/proc}, once per boot. The kernel mounts a new {@code /proc} in a namespace owned by a less
   * privileged user namespace (each workflow's, at its launch and at CRIU's restore) only when one
   * that hides nothing is mounted already; the workflow itself never sees this one.
   */
  private void mountPlainProc() throws IOException {
    List<Path> points = SandboxPlan.hostMountPoints();
    Path plain = SandboxPlan.HOST_COPIES.resolve("proc");
    if (!SandboxPlan.hasMountsUnder(Path.of("/proc"), points) || points.contains(plain)) {
      return;
    }
    PrivateDirs.ensure(plain.getParent(), 0711, -1);
    Files.createDirectories(plain);
    PrivateDirs.setMode(plain, 0700, -1);
    CriuEngine.ProcessResult r = CriuEngine.ProcessResult.run(
        List.of("mount", "-t", "proc", "-o", "nosuid,nodev,noexec", "proc", plain.toString()), 30);
    if (r.exitCode() != 0) {
      throw new TorporException("cannot mount a plain /proc at " + plain + " (this machine's /proc has mounts over"
          + " parts of it, and workflows need a /proc of their own): " + r.output().strip());
    }
  }

  public WorkflowUser user() {
    return user;
  }

  public Path runBase() {
    return runBase;
  }

  /** The class path copies workflows see. */
  WorkflowLibrary library() {
    return library;
  }

  /** The roots workflows are confined to. */
  SandboxRoots roots() {
    return roots;
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

  /** The plan of a new workflow whose class path the {@link #library} published. */
  public SandboxPlan plan(Path runDir, Path javaHome, List<Path> classPath) {
    requireUnderBase(runDir);
    List<SandboxPlan.Bind> binds = new ArrayList<>();
    for (Path entry : classPath) {
      if (SandboxPlan.underSystem(entry)) {
        continue; // visible read-only through /usr or /etc already
      }
      if (!entry.startsWith(library.dir())) {
        throw new IllegalArgumentException(entry + " is not in the workflow library " + library.dir() + ": publish it first");
      }
      binds.add(new SandboxPlan.Bind(entry, entry));
    }
    return withHostCopies(new SandboxPlan(runDir.toAbsolutePath().normalize(), javaHome, binds));
  }

  /**
   * Binds, once per boot of this machine or container, the plain copies of host mounts that have
   * mounts under them ({@link SandboxPlan#hostCopy}): a container's {@code /etc}, say. Read-only,
   * without the mounts under them, under {@code /run/torpor-host}.
   */
  private synchronized SandboxPlan withHostCopies(SandboxPlan plan) {
    Path copies = SandboxPlan.HOST_COPIES;
    List<Path> points = SandboxPlan.hostMountPoints(); // read once: mounts() would read it again
    for (SandboxPlan.Mount m : plan.mounts(points)) {
      if (!m.source().startsWith(copies)) {
        continue;
      }
      if (points.contains(m.source())) {
        continue;
      }
      try {
        PrivateDirs.ensure(copies, 0711, -1);
        Files.createDirectories(m.source());
        CriuEngine.ProcessResult r = CriuEngine.ProcessResult.run(List.of("sh", "-c",
            "mount --bind \"$0\" \"$1\" && mount -o remount,bind,ro,nosuid,nodev \"$1\"",
            m.inside().toString(), m.source().toString()), 30);
        if (r.exitCode() != 0) {
          throw new TorporException("cannot bind " + m.inside() + " at " + m.source() + " (it has mounts under it,"
              + " which a workflow's root cannot bind): " + r.output().strip());
        }
      } catch (IOException e) {
        throw new TorporException("cannot bind " + m.inside() + " at " + m.source() + ": " + e.getMessage(), e);
      }
    }
    return plan;
  }

  /** The plan of an image, from its manifest: sources only under this worker's library. */
  public SandboxPlan planOf(Map<String, String> restoreFacts, Path javaHome) {
    SandboxPlan plan = SandboxPlan.fromFacts(restoreFacts, javaHome, library.dir());
    requireUnderBase(plan.runDir());
    for (SandboxPlan.Bind b : plan.classPath()) {
      if (!Files.exists(b.source(), LinkOption.NOFOLLOW_LINKS)) {
        throw new TorporException("this worker lacks " + b.source() + ", which the image's class path entry "
            + b.inside() + " needs");
      }
    }
    return withHostCopies(plan);
  }

  /**
   * The command that starts a workflow JVM: {@code java} and its arguments, run as the workflow
   * user in the run directory with stdout and stderr on one pipe and stdin from {@code /dev/null},
   * once {@link #enter} has built its root. Start it with the directory {@code /} and stdin a pipe.
   *
   * <p>The JVM dies with the process that starts it (the worker's spawner thread): unshare and the
   * JVM after its uid change each get SIGKILL when their parent goes.
   */
  public List<String> launchCommand(Path runDir, List<String> java) {
    List<String> cmd = new ArrayList<>(List.of("setpriv", "--pdeathsig", "KILL",
        "unshare", "--user", "--pid", "--mount", "--time", "--ipc", "--fork", "--keep-caps", "--kill-child"));
    // Waits for the worker's go (its root is built then), then drops every privilege for good.
    cmd.addAll(List.of("sh", "-c", "read -r go && [ \"$go\" = go ] || exit 111; exec \"$@\"", "sh",
        "setpriv", "--reuid=" + user.uid(), "--regid=" + user.gid(), "--clear-groups", "--no-new-privs",
        "--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all",
        // The uid change clears the parent-death signal unshare --kill-child set: set it again after.
        "--pdeathsig", "KILL"));
    cmd.addAll(List.of("setsid",
        "sh", "-c", "cd \"$0\" && unset PWD OLDPWD && exec \"$@\" 2>&1 </dev/null", runDir.toString()));
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
        "--", "sh", "-c", SandboxRoots.mountScript(plan, root));
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
