package dev.torpor.launcher.it;

import static org.awaitility.Awaitility.await;

import dev.torpor.scheduler.TestCerts;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

/**
 * A real {@code torpor server} process on a free loopback port, with its own data directory,
 * and the CLI run against it as separate processes, as a user would.
 */
final class ServerProcess implements AutoCloseable {
  record Result(int exitCode, String out, String err) {}

  /** Holds the data directory and the run base. */
  final Path base;
  final Path data;
  final Path runBase;
  final int port;
  private List<String> extraArgs;
  private final Map<String, String> env = new LinkedHashMap<>();
  private Process process;
  private HttpClient http = HttpClient.newHttpClient();
  private TestCerts tls;

  ServerProcess(String... extraArgs) throws IOException {
    base = TestDirs.traversable("torpor-srv-");
    data = Files.createDirectories(base.resolve("data"));
    runBase = base.resolve("run");
    port = freePort();
    this.extraArgs = List.of(extraArgs);
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  String url() {
    return (tls == null ? "http" : "https") + "://127.0.0.1:" + port;
  }

  /** Serves the API over TLS with {@code certs}; the test's client and CLI trust their CA. */
  ServerProcess tls(TestCerts certs) {
    this.tls = certs;
    this.http = HttpClient.newBuilder().sslContext(dev.torpor.launcher.internal.Pem.trusting(certs.ca())).build();
    return this;
  }

  /** Replaces the extra arguments for the next {@link #start()} (same data directory and port). */
  ServerProcess args(String... newArgs) {
    this.extraArgs = List.of(newArgs);
    return this;
  }

  /** Environment for the server process (e.g. AWS credentials, the image key). */
  ServerProcess env(String name, String value) {
    env.put(name, value);
    return this;
  }

  /** No {@code name} in the environment of the next {@link #start()}. */
  ServerProcess withoutEnv(String name) {
    env.remove(name);
    return this;
  }

  private Process launch() throws IOException {
    List<String> cmd = new ArrayList<>(List.of(java(), "-Xmx256m", "-XX:+UseSerialGC", "-jar", cliJar(), "server",
        "--data", data.toString(), "--run-dir", runBase.toString(), "--listen", "127.0.0.1:" + port));
    if (tls != null) {
      cmd.addAll(List.of("--tls-cert", tls.cert().toString(), "--tls-key", tls.key().toString()));
    }
    cmd.addAll(extraArgs);
    ProcessBuilder pb = new ProcessBuilder(cmd)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(base.resolve("server.out").toFile()))
        .redirectError(ProcessBuilder.Redirect.appendTo(base.resolve("server.err").toFile()));
    pb.environment().keySet().removeIf(k -> k.startsWith("TORPOR_") || k.startsWith("AWS_"));
    pb.environment().put("MALLOC_ARENA_MAX", "2"); // as the README recommends for the server
    pb.environment().putAll(env);
    return pb.start();
  }

  /** Starts a server that must refuse to start; returns its exit code and stderr. */
  Result startRefused() throws IOException, InterruptedException {
    Process p = launch();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("the server did not refuse to start in 60 s; it said: " + serverErr());
    }
    return new Result(p.exitValue(), "", serverErr());
  }

  ServerProcess start() throws IOException {
    process = launch();
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() -> {
      if (!process.isAlive()) {
        throw new AssertionError("the server exited with " + process.exitValue() + ": " + serverErr());
      }
      return healthy();
    });
    return this;
  }

  /**
   * Starts a server that may die while starting (a crash point armed in its recovery): waits
   * until it answers or has exited; returns whether it answers.
   */
  boolean startUnlessItDies() throws IOException {
    process = launch();
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
        .until(() -> !process.isAlive() || healthy());
    return process.isAlive();
  }

  /** Whether the server process runs. */
  boolean alive() {
    return process != null && process.isAlive();
  }

  /** The server's exit status, once it has exited (within {@code timeout}). */
  int awaitExit(Duration timeout) throws InterruptedException {
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new AssertionError("the server did not exit within " + timeout);
    }
    return process.exitValue();
  }

  /** The file holding the server's API token (it makes it at its first start). */
  Path tokenFile() {
    return data.resolve("api-token");
  }

  /** The server's API token. */
  String token() throws IOException {
    return Files.readString(tokenFile()).strip();
  }

  /** Prometheus's text format as a map from a sample's name and labels ({@code name{k="v"}}) to its value. */
  static Map<String, Double> parseMetrics(String text) {
    Map<String, Double> m = new java.util.HashMap<>();
    for (String line : text.split("\n")) {
      int sp = line.lastIndexOf(' ');
      if (!line.startsWith("#") && sp > 0) {
        m.put(line.substring(0, sp), Double.parseDouble(line.substring(sp + 1)));
      }
    }
    return m;
  }

  /** A request to this server carrying its token. */
  HttpRequest.Builder request(String path) throws IOException {
    return HttpRequest.newBuilder(URI.create(url() + path)).header("Authorization", "Bearer " + token());
  }

  boolean healthy() {
    try {
      if (!Files.exists(tokenFile())) {
        return false; // made before the API listens
      }
      int status = http.send(request("/v1/health").build(), HttpResponse.BodyHandlers.ofString()).statusCode();
      return status == 200;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  long pid() {
    return process.pid();
  }

  void kill9() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  String serverErr() {
    try {
      return Files.readString(base.resolve("server.err"));
    } catch (IOException e) {
      return "(no server.err: " + e + ")";
    }
  }

  /** Runs {@code torpor ARGS --server URL} and returns what it printed. */
  Result cli(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(java(), "-jar", cliJar()));
    cmd.addAll(List.of(args));
    int dashes = cmd.indexOf("--");
    List<String> where = new ArrayList<>(List.of("--server", url()));
    if (tls != null) {
      where.addAll(List.of("--ca-file", tls.ca().toString()));
    }
    cmd.addAll(dashes < 0 ? cmd.size() : dashes, where);
    return exec(cmd);
  }

  /** Runs {@code torpor ARGS} without adding --server. */
  Result cliBare(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(java(), "-jar", cliJar()));
    cmd.addAll(List.of(args));
    return exec(cmd);
  }

  /** Runs the CLI as root on this machine would: it finds the token in the server's data directory. */
  private Result exec(List<String> cmd) throws IOException, InterruptedException {
    return exec(cmd, Map.of("TORPOR_TOKEN_FILE", tokenFile().toString()));
  }

  /** Runs {@code cmd} with no TORPOR_ variable but those of {@code env}. */
  Result exec(List<String> cmd, Map<String, String> env) throws IOException, InterruptedException {
    Path out = Files.createTempFile(base, "cli", ".out");
    Path err = Files.createTempFile(base, "cli", ".err");
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("TORPOR_"));
    pb.environment().putAll(env);
    Process p = pb.start();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("torpor " + cmd + " did not finish in 120 s");
    }
    return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
  }

  HttpResponse<String> post(String path, String contentType, byte[] body) throws IOException, InterruptedException {
    return http.send(request(path).header("Content-Type", contentType)
        .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  byte[] getBytes(String path) throws IOException, InterruptedException {
    return http.send(request(path).build(), HttpResponse.BodyHandlers.ofByteArray()).body();
  }

  HttpResponse<String> get(String path) throws IOException, InterruptedException {
    return http.send(request(path).build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Whether any process runs in one of this server's workflow run directories. */
  boolean anyWorkflowProcess() throws IOException {
    return !workflowProcesses().isEmpty();
  }

  /** The processes running in one of this server's workflow run directories. */
  List<Long> workflowProcesses() throws IOException {
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      return procs.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit)).filter(p -> {
        try {
          Path cwd = Files.readSymbolicLink(p.resolve("cwd"));
          return cwd.startsWith(runBase) && !cwd.equals(runBase);
        } catch (IOException | SecurityException e) {
          return false; // gone meanwhile, or a kernel thread
        }
      }).map(p -> Long.parseLong(p.getFileName().toString())).sorted().toList();
    }
  }

  /** Each process's pid, parent, name and command line, to say which ones survived what. */
  static String describe(List<Long> pids) {
    StringBuilder out = new StringBuilder();
    for (long pid : pids) {
      try {
        String status = Files.readString(Path.of("/proc", Long.toString(pid), "status"));
        String ppid = status.lines().filter(l -> l.startsWith("PPid:")).findFirst().orElse("PPid: ?");
        String cmd = Files.readString(Path.of("/proc", Long.toString(pid), "cmdline")).replace('\0', ' ').strip();
        out.append(pid).append(" (").append(ppid.replace("\t", " ")).append("): ").append(cmd, 0, Math.min(cmd.length(), 200))
            .append('\n');
      } catch (IOException e) {
        out.append(pid).append(": gone\n");
      }
    }
    return out.toString();
  }

  static String cliJar() {
    return System.getProperty("torpor.cli.jar");
  }

  static String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  /** A jar of the test workflows, as a user's application jar. */
  static Path workflowJar(Path dir) throws IOException {
    Path jar = dir.resolve("workflows.jar");
    Path classes = WorkerHarness.workflowClasses();
    Path pkg = classes.resolve("dev/torpor/launcher/it/workflows");
    try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar)); Stream<Path> files = Files.list(pkg)) {
      for (Path f : files.sorted().toList()) {
        out.putNextEntry(new JarEntry(classes.relativize(f).toString()));
        Files.copy(f, out);
        out.closeEntry();
      }
    }
    return jar;
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
    // Workflow JVMs still running (a test that failed midway) go with the server.
    dev.torpor.launcher.internal.ProcessScan.killUnder(runBase);
    try (Stream<Path> walk = Files.walk(base)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
