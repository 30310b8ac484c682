package dev.torpor.launcher.internal;

import dev.torpor.TorporException;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The CRIU engine for stock JDKs. Dumps with {@code --tcp-close} (established TCP connections
 * are closed, as the kernel refuses to freeze them in a way we could restore elsewhere);
 * restores with the output pipe re-wired by {@code --inherit-fd}, under a tiny waiter that runs
 * {@code criu restore --restore-sibling}, so that the restored root becomes the waiter's own child,
 * and exits with the tree's real exit status (a plain {@code criu restore} exits 0 whatever the
 * tree does). As its parent's sibling, the root gets back its parent-death signal relative to the
 * waiter: CRIU restores a root's parent-death signal correctly only so (its cr-restore.c says as
 * much); as CRIU's own child, with {@code --exec-cmd} turning CRIU into the waiter, the root
 * outlived a killed worker in 4 of 7 runs of {@code S3ImagesIT}.
 */
public final class CriuEngine implements CheckpointEngine {
  /** The oldest CRIU known to work on the kernels we target (see DESIGN.md). */
  public static final String MIN_VERSION = "4.2";

  public static final String INSTALL_HINT = "run scripts/install-criu.sh as root to build and install CRIU >= " + MIN_VERSION;

  /**
   * Runs its arguments (criu restore) as a child that dies with it; when that fails, exits with its
   * status; otherwise waits for the restored root, its other child, and exits with that one's
   * status (128+signal if killed; 125 if there is none).
   */
  private static final String WAITER = String.join(" ",
      "sub code { $_[0] & 127 ? 128 + ($_[0] & 127) : $_[0] >> 8 }",
      "my $c = fork; defined $c or exit 126;",
      "if (!$c) { exec('setpriv', '--pdeathsig', 'KILL', @ARGV); exit 127 }",
      "waitpid($c, 0); exit code($?) if $?;",
      "my $p = wait; exit($p < 0 ? 125 : code($?));");

  private static final Pattern VERSION = Pattern.compile("Version:\\s*(\\d+(?:\\.\\d+)*)");

  private final Path criu;
  private final String version;
  /** Runs before the restore's waiter: {@code setpriv --pdeathsig KILL} for trees that die with their worker. */
  private final List<String> restorePrefix;

  private CriuEngine(Path criu, String version, List<String> restorePrefix) {
    this.criu = criu;
    this.version = version;
    this.restorePrefix = restorePrefix;
  }

  /**
   * This engine, restoring trees that die with the thread that restores them: the waiter (and
   * CRIU, while it runs) gets SIGKILL when the worker goes, and the restored JVM, whose own
   * parent-death signal CRIU restores relative to the waiter, follows it (tested: {@code
   * S3ImagesIT} kills a server while a restored JVM waits in memory).
   */
  public CriuEngine diesWithParent() {
    return new CriuEngine(criu, version, List.of("setpriv", "--pdeathsig", "KILL"));
  }

  /**
   * Finds CRIU ({@code TORPOR_CRIU} or the PATH) and checks its version.
   *
   * @throws TorporException naming the install script when CRIU is missing or too old
   */
  public static CriuEngine locate() {
    Path bin = find();
    if (bin == null) {
      String configured = System.getenv("TORPOR_CRIU");
      throw new TorporException(configured != null && !configured.isBlank()
          ? "TORPOR_CRIU names " + configured + ", which is not an executable file: fix TORPOR_CRIU or " + INSTALL_HINT
          : "CRIU is not installed (no criu on the PATH): " + INSTALL_HINT);
    }
    String v = versionOf(bin);
    if (v == null) {
      throw new TorporException("cannot tell the version of " + bin + " (`criu --version` failed): " + INSTALL_HINT);
    }
    if (compareVersions(v, MIN_VERSION) < 0) {
      throw new TorporException("CRIU " + v + " at " + bin + " is older than " + MIN_VERSION + ": " + INSTALL_HINT);
    }
    return new CriuEngine(bin, v, List.of());
  }

  static Path find() {
    String configured = System.getenv("TORPOR_CRIU");
    if (configured != null && !configured.isBlank()) {
      Path p = Path.of(configured);
      return Files.isExecutable(p) ? p : null;
    }
    String path = System.getenv().getOrDefault("PATH", "") + File.pathSeparator + "/usr/local/sbin:/usr/sbin:/sbin";
    for (String dir : path.split(File.pathSeparator)) {
      if (!dir.isEmpty()) {
        Path p = Path.of(dir, "criu");
        if (Files.isExecutable(p)) {
          return p;
        }
      }
    }
    return null;
  }

  static String versionOf(Path bin) {
    try {
      ProcessResult r = ProcessResult.run(List.of(bin.toString(), "--version"), 10);
      Matcher m = VERSION.matcher(r.output());
      return r.exitCode() == 0 && m.find() ? m.group(1) : null;
    } catch (IOException e) {
      return null;
    }
  }

  static int compareVersions(String a, String b) {
    String[] x = a.split("\\.");
    String[] y = b.split("\\.");
    for (int i = 0; i < Math.max(x.length, y.length); i++) {
      int p = i < x.length ? Integer.parseInt(x[i]) : 0;
      int q = i < y.length ? Integer.parseInt(y[i]) : 0;
      if (p != q) {
        return Integer.compare(p, q);
      }
    }
    return 0;
  }

  public Path binary() {
    return criu;
  }

  public String version() {
    return version;
  }

  @Override
  public Map<String, String> describe() {
    return Map.of("name", "criu", "version", version);
  }

  @Override
  public void dump(long pid, Path dir, boolean leaveRunning, List<String> options)
      throws IOException, DumpFailedException {
    Files.createDirectories(dir);
    // umask 077: the image files (the JVM's memory) are the worker's alone.
    List<String> cmd = new ArrayList<>(List.of("sh", "-c", "umask 077 && exec \"$@\"", "sh",
        criu.toString(), "dump", "-t", Long.toString(pid), "-D", dir.toString(),
        "--tcp-close", "-o", "dump.log", "-v2"));
    cmd.addAll(options);
    if (leaveRunning) {
      cmd.add("--leave-running");
    }
    ProcessResult r = ProcessResult.run(cmd, 120);
    if (r.exitCode() != 0) {
      throw new DumpFailedException(
          "criu dump of pid " + pid + " exited " + r.exitCode() + ": " + tail(dir.resolve("dump.log"), 6) + r.output().strip());
    }
  }

  @Override
  public Process restore(Path dir, String outputPipe, Path errorFile, List<String> options, boolean addrNoRandomize)
      throws IOException {
    List<String> cmd = new ArrayList<>(restorePrefix);
    cmd.addAll(List.of("perl", "-e", WAITER, "--"));
    if (addrNoRandomize) {
      // CRIU records a task's personality but does not restore it; the tasks it forks inherit its own.
      cmd.addAll(List.of("setarch", "-R"));
    }
    cmd.addAll(List.of(criu.toString(), "restore", "-D", dir.toString(), "--tcp-close", "-o", "restore.log", "-v2",
        "--restore-detached", "--restore-sibling", "--inherit-fd", "fd[1]:" + outputPipe));
    cmd.addAll(options);
    return new ProcessBuilder(cmd)
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
        .redirectError(ProcessBuilder.Redirect.appendTo(errorFile.toFile()))
        .start();
  }

  /**
   * {@inheritDoc} The restored root is the restore waiter's only child once CRIU, its other child, has exited.
   * While CRIU starts, the waiter's only child is CRIU itself (named perl, then setpriv, then
   * criu as it execs), which is not taken for the root. Returns once the restore is complete;
   * fails if the waiter exits first (the restore failed) or nothing is restored within {@code timeout}.
   */
  @Override
  public long restoredRoot(Process waiter, Duration timeout) throws IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      List<ProcessHandle> children = waiter.toHandle().children().toList();
      if (children.size() == 1 && !RESTORING.contains(commOf(children.get(0).pid()))) {
        return children.get(0).pid();
      }
      if (!waiter.isAlive()) {
        throw new IOException("the restore (process " + waiter.pid() + ") exited with " + waiter.exitValue()
            + " with no restored root");
      }
      Thread.onSpinWait();
    }
    throw new IOException("the restore (process " + waiter.pid() + ") restored no root within " + timeout);
  }

  /** The names the restore waiter's CRIU child has, from its fork to its exec of CRIU. */
  private static final Set<String> RESTORING = Set.of("perl", "setpriv", "criu", "");

  private static String commOf(long pid) {
    try {
      return Files.readString(Path.of("/proc", Long.toString(pid), "comm")).strip();
    } catch (IOException e) {
      return ""; // gone meanwhile: look again
    }
  }

  @Override
  public String restoreLogTail(Path dir) {
    return tail(dir.resolve("restore.log"), 8);
  }

  /** The last lines of a CRIU log that say "Error", or its last lines. */
  static String tail(Path log, int lines) {
    try {
      List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
      List<String> errors = all.stream().filter(l -> l.contains("Error")).toList();
      List<String> pick = errors.isEmpty() ? all : errors;
      return String.join(" | ", pick.subList(Math.max(0, pick.size() - lines), pick.size()));
    } catch (IOException e) {
      return "(no log at " + log + ")";
    }
  }

  /** The output and exit code of a finished command. */
  record ProcessResult(int exitCode, String output) {
    static ProcessResult run(List<String> cmd, int timeoutSeconds) throws IOException {
      // Output goes to a file, not a pipe we read first: a child that hangs with its stdout
      // open must not defeat the timeout.
      Path out = Files.createTempFile("torpor-cmd", ".out");
      try {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        try {
          if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", cmd) + " did not finish in " + timeoutSeconds + " s");
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          p.destroyForcibly();
          throw new IOException("interrupted while running " + cmd.get(0), e);
        }
        return new ProcessResult(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
      } finally {
        Files.deleteIfExists(out);
      }
    }
  }
}
