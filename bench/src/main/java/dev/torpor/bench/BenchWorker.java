package dev.torpor.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** A real {@code torpor worker} process of a benchmark cluster, started as an operator would. */
final class BenchWorker implements AutoCloseable {
  final String name;
  final Path data;
  private final Process process;

  private BenchWorker(String name, Path data, Process process) {
    this.name = name;
    this.data = data;
    this.process = process;
  }

  /** Starts the worker and waits (at most 60 s) until it has joined the cluster. */
  static BenchWorker start(Path cliJar, String name, Path data, List<String> args, Map<String, String> env)
      throws IOException, InterruptedException {
    Files.createDirectories(data);
    List<String> cmd = new ArrayList<>(List.of(BenchServer.java(), "-Xmx256m", "-XX:+UseSerialGC", "-jar",
        cliJar.toString(), "worker", "--name", name, "--data", data.toString(), "--quiet"));
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(data.resolve("worker.out").toFile()))
        .redirectError(ProcessBuilder.Redirect.appendTo(data.resolve("worker.err").toFile()));
    pb.environment().keySet().removeIf(k -> k.startsWith("TORPOR_") || k.startsWith("AWS_"));
    pb.environment().put("MALLOC_ARENA_MAX", "2");
    pb.environment().putAll(env);
    BenchWorker w = new BenchWorker(name, data, pb.start());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!w.err().contains("joined as")) {
      if (!w.process.isAlive() || System.nanoTime() > deadline) {
        w.close();
        throw new IOException("worker " + name + " did not join within 60 s: " + w.err());
      }
      Thread.sleep(100);
    }
    return w;
  }

  String err() {
    try {
      return Files.readString(data.resolve("worker.err"));
    } catch (IOException e) {
      return "(no worker.err: " + e + ")";
    }
  }

  void kill9() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      process.destroy();
      try {
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
          process.destroyForcibly();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        process.destroyForcibly();
      }
    }
  }
}
