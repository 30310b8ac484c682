package dev.torpor.launcher.it;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A real {@code torpor worker} process of a test cluster, with its own data directory and the
 * cluster's shared run and lib directories, as an operator would start one on another machine.
 */
final class WorkerProcess implements AutoCloseable {
  final String name;
  final Path data;
  private final List<String> args;
  private final Map<String, String> env;
  private final String java;
  private Process process;

  WorkerProcess(String name, Path clusterDir, String java, Map<String, String> env, String... args) throws IOException {
    this.name = name;
    this.data = Files.createDirectories(clusterDir.resolve(name));
    this.java = java;
    this.env = env;
    this.args = List.of(args);
  }

  private Process launch() throws IOException {
    List<String> cmd = new ArrayList<>(List.of(java, "-Xmx256m", "-XX:+UseSerialGC", "-jar", ServerProcess.cliJar(),
        "worker", "--name", name, "--data", data.toString()));
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(data.resolve("worker.out").toFile()))
        .redirectError(ProcessBuilder.Redirect.appendTo(data.resolve("worker.err").toFile()));
    pb.environment().keySet().removeIf(k -> k.startsWith("TORPOR_") || k.startsWith("AWS_"));
    pb.environment().put("MALLOC_ARENA_MAX", "2");
    pb.environment().putAll(env);
    return pb.start();
  }

  WorkerProcess start() throws IOException {
    process = launch();
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() -> {
      if (!process.isAlive()) {
        throw new AssertionError("worker " + name + " exited with " + process.exitValue() + ": " + err());
      }
      return err().contains("joined as");
    });
    return this;
  }

  /** Starts a worker that must refuse to start; returns its exit code (stderr: {@link #err}). */
  int startRefused() throws IOException, InterruptedException {
    Process p = launch();
    if (!p.waitFor(90, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("worker " + name + " did not refuse to start in 90 s: " + err());
    }
    return p.exitValue();
  }

  /**
   * For a failure message: the worker's threads that are Torpor's (from {@code jcmd Thread.print})
   * and the processes it started, to tell a stuck wake (and where it is stuck) from a lost one.
   */
  String diagnostics() {
    if (!isAlive()) {
      return "(the worker is not running)";
    }
    StringBuilder out = new StringBuilder();
    try {
      Path jcmd = Path.of(java).resolveSibling("jcmd");
      Process p = new ProcessBuilder(jcmd.toString(), Long.toString(process.pid()), "Thread.print")
          .redirectErrorStream(true).start();
      String dump = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      p.waitFor(20, TimeUnit.SECONDS);
      for (String thread : dump.split("\n\n")) {
        if (thread.startsWith("\"torpor")) {
          out.append(thread.lines().limit(25).collect(Collectors.joining("\n"))).append("\n\n");
        }
      }
    } catch (IOException | InterruptedException e) {
      out.append("(no thread dump: ").append(e).append(")\n");
    }
    process.toHandle().descendants().forEach(h -> out.append("child ").append(h.pid()).append(" (parent ")
        .append(h.parent().map(x -> Long.toString(x.pid())).orElse("?")).append("): ")
        .append(h.info().commandLine().orElse("?")).append('\n'));
    return out.toString();
  }

  boolean isAlive() {
    return process != null && process.isAlive();
  }

  /** The pids of every process this worker started (workflow JVMs, their launchers and restore waiters). */
  List<Long> descendants() {
    return process.toHandle().descendants().map(ProcessHandle::pid).toList();
  }

  /** Sends the worker process (only it, not its workflow JVMs) a signal, e.g. STOP or CONT. */
  void signal(String name) throws IOException, InterruptedException {
    Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
    if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
      throw new IOException("kill -" + name + " " + process.pid() + " failed");
    }
  }

  void kill9() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  String err() {
    try {
      return Files.readString(data.resolve("worker.err"));
    } catch (IOException e) {
      return "(no worker.err: " + e + ")";
    }
  }

  @Override
  public void close() throws IOException {
    if (process != null && process.isAlive()) {
      process.destroy();
      try {
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
          process.destroyForcibly();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        process.destroyForcibly();
      }
    }
    try (Stream<Path> walk = Files.walk(data)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
