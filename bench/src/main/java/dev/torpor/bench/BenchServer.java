package dev.torpor.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real {@code torpor server} process, started as the launcher's {@code ServerProcess} test
 * helper starts it ({@code java -Xmx256m -XX:+UseSerialGC -jar torpor.jar server ... --quiet},
 * {@code MALLOC_ARENA_MAX=2}), and driven over its HTTP API.
 */
final class BenchServer implements AutoCloseable {
  static final ObjectMapper JSON = new ObjectMapper();

  final Path data;
  final Path runBase;
  final Path logDir;
  final int port;
  final Path cliJar;
  final List<String> command;
  private final Process process;
  private volatile String stopped = "still running";
  private final HttpClient http = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(10))
      .build();

  private BenchServer(Path data, Path runBase, Path logDir, int port, Path cliJar, List<String> command, Process process) {
    this.data = data;
    this.runBase = runBase;
    this.logDir = logDir;
    this.port = port;
    this.cliJar = cliJar;
    this.command = command;
    this.process = process;
  }

  /** Starts the server and waits until {@code /v1/health} answers (at most 60 s). */
  static BenchServer start(Path cliJar, Path data, Path runBase, Path logDir, List<String> extraArgs)
      throws IOException, InterruptedException {
    return start(cliJar, data, runBase, logDir, extraArgs, java.util.Map.of());
  }

  /** As {@link #start(Path, Path, Path, Path, List)}, with {@code env} added to the server's environment. */
  static BenchServer start(Path cliJar, Path data, Path runBase, Path logDir, List<String> extraArgs,
      java.util.Map<String, String> env) throws IOException, InterruptedException {
    return start(cliJar, data, runBase, logDir, extraArgs, env, List.of());
  }

  /** As {@link #start(Path, Path, Path, Path, List, java.util.Map)}, with {@code jvmArgs} for the server's JVM. */
  static BenchServer start(Path cliJar, Path data, Path runBase, Path logDir, List<String> extraArgs,
      java.util.Map<String, String> env, List<String> jvmArgs) throws IOException, InterruptedException {
    int port = freePort();
    List<String> cmd = new ArrayList<>(List.of(java(), "-Xmx256m", "-XX:+UseSerialGC"));
    cmd.addAll(jvmArgs);
    cmd.addAll(serverJvmOptions());
    cmd.addAll(List.of("-jar", cliJar.toString(),
        "server", "--data", data.toString(), "--run-dir", runBase.toString(), "--listen", "127.0.0.1:" + port, "--quiet"));
    cmd.addAll(extraArgs);
    ProcessBuilder pb = new ProcessBuilder(cmd)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(logDir.resolve("server.out").toFile()))
        .redirectError(ProcessBuilder.Redirect.appendTo(logDir.resolve("server.err").toFile()));
    pb.environment().keySet().removeIf(k -> k.startsWith("TORPOR_"));
    pb.environment().put("MALLOC_ARENA_MAX", "2"); // as the README recommends for the server
    pb.environment().putAll(env);
    BenchServer s = new BenchServer(data, runBase, logDir, port, cliJar, List.copyOf(cmd), pb.start());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!s.healthy()) {
      if (!s.process.isAlive()) {
        throw new IOException("the server exited with " + s.process.exitValue() + ": " + s.serverErr());
      }
      if (System.nanoTime() > deadline) {
        s.close();
        throw new IOException("the server did not answer /v1/health within 60 s: " + s.serverErr());
      }
      Thread.sleep(100);
    }
    return s;
  }

  /**
   * {@code -Dtorpor.bench.serverJvmOptions="..."}: more options for every server JVM the benchmark
   * starts (a profiler's, say), after its own; split at spaces.
   */
  static List<String> serverJvmOptions() {
    String o = System.getProperty("torpor.bench.serverJvmOptions", "").strip();
    return o.isEmpty() ? List.of() : List.of(o.split("\\s+"));
  }

  /** How the server stopped, once {@link #close} has stopped it. */
  String stopped() {
    return stopped;
  }

  long pid() {
    return process.pid();
  }

  boolean alive() {
    return process.isAlive();
  }

  String url() {
    return "http://127.0.0.1:" + port;
  }

  String serverErr() {
    try {
      String err = Files.readString(logDir.resolve("server.err"));
      return err.length() > 4000 ? "..." + err.substring(err.length() - 4000) : err;
    } catch (IOException e) {
      return "(no server.err: " + e + ")";
    }
  }

  /** A request carrying the server's API token, which it writes to {@code <data>/api-token} before it listens. */
  private HttpRequest.Builder request(String path) throws IOException {
    return HttpRequest.newBuilder(URI.create(url() + path))
        .header("Authorization", "Bearer " + Files.readString(data.resolve("api-token")).strip());
  }

  private boolean healthy() {
    try {
      if (!Files.exists(data.resolve("api-token"))) {
        return false;
      }
      return http.send(request("/v1/health").timeout(Duration.ofSeconds(5)).build(),
          HttpResponse.BodyHandlers.ofString()).statusCode() == 200;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  // ----- HTTP API -----

  /** POST /v1/apps; returns the jar's sha256. */
  String uploadApp(Path jar) throws IOException, InterruptedException {
    HttpResponse<String> r = post("/v1/apps", "application/java-archive", Files.readAllBytes(jar));
    expect(r, 200, "POST /v1/apps");
    return JSON.readTree(r.body()).get("sha256").asText();
  }

  /** POST /v1/workflows; fails unless the workflow was created. */
  void submit(String id, String appSha, String mainClass, List<String> args, List<String> javaOptions)
      throws IOException, InterruptedException {
    var body = JSON.createObjectNode().put("id", id).put("app", appSha).put("main", mainClass);
    args.forEach(body.putArray("args")::add);
    if (!javaOptions.isEmpty()) {
      javaOptions.forEach(body.putArray("javaOptions")::add);
    }
    HttpResponse<String> r = post("/v1/workflows", "application/json", JSON.writeValueAsBytes(body));
    expect(r, 201, "POST /v1/workflows (" + id + ")");
  }

  /** The workflows in {@code state} (at most 1000, the API's limit), newest first. */
  JsonNode list(String state) throws IOException, InterruptedException {
    return getJson("/v1/workflows?state=" + state + "&limit=1000");
  }

  int count(String state) throws IOException, InterruptedException {
    return list(state).size();
  }

  JsonNode status(String id) throws IOException, InterruptedException {
    return getJson("/v1/workflows/" + id);
  }

  JsonNode history(String id) throws IOException, InterruptedException {
    return getJson("/v1/workflows/" + id + "/history");
  }

  void cancel(String id) throws IOException, InterruptedException {
    expect(post("/v1/workflows/" + id + "/cancel", "application/json", new byte[0]), 200, "cancel " + id);
  }

  private JsonNode getJson(String path) throws IOException, InterruptedException {
    HttpResponse<String> r = http.send(request(path).timeout(Duration.ofSeconds(60)).build(),
        HttpResponse.BodyHandlers.ofString());
    expect(r, 200, "GET " + path);
    return JSON.readTree(r.body());
  }

  private HttpResponse<String> post(String path, String contentType, byte[] body) throws IOException, InterruptedException {
    return http.send(request(path).timeout(Duration.ofSeconds(60))
        .header("Content-Type", contentType).POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static void expect(HttpResponse<String> r, int status, String what) throws IOException {
    if (r.statusCode() != status) {
      throw new IOException(what + " answered " + r.statusCode() + ": " + r.body());
    }
  }

  // ----- the process, as the kernel sees it -----

  /** A field of /proc/PID/status in kB (VmRSS, VmHWM, ...), or -1 once the process is gone. */
  long statusKb(String field) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/" + pid() + "/status"))) {
        if (line.startsWith(field + ":")) {
          return Long.parseLong(line.replaceAll("\\D", ""));
        }
      }
    } catch (IOException | RuntimeException e) {
      // gone
    }
    return -1;
  }

  /** CPU time of the server process itself (user + system, its own threads only), in clock ticks. */
  long cpuTicks() {
    try {
      String stat = Files.readString(Path.of("/proc/" + pid() + "/stat"));
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return Long.parseLong(f[11]) + Long.parseLong(f[12]); // fields 14 and 15: utime, stime
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /** Pids of processes whose working directory is a workflow run directory under the run base. */
  List<Long> workflowProcesses() throws IOException {
    Path base = runBase.toAbsolutePath().normalize();
    List<Long> pids = new ArrayList<>();
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      for (Path p : procs.toList()) {
        String name = p.getFileName().toString();
        if (!name.chars().allMatch(Character::isDigit)) {
          continue;
        }
        try {
          Path cwd = Files.readSymbolicLink(p.resolve("cwd"));
          if (cwd.startsWith(base) && !cwd.equals(base)) {
            pids.add(Long.parseLong(name));
          }
        } catch (IOException | SecurityException e) {
          // gone meanwhile, or a kernel thread
        }
      }
    }
    return pids;
  }

  /**
   * Stops the server (SIGTERM, then SIGKILL after 30 s), then kills any workflow JVM still
   * running under its run directory; returns how many had to be killed.
   */
  @Override
  public void close() throws IOException {
    closeAndCountLeftovers();
  }

  int closeAndCountLeftovers() throws IOException {
    if (process.isAlive()) {
      long t0 = System.nanoTime();
      process.destroy();
      try {
        if (process.waitFor(30, TimeUnit.SECONDS)) {
          stopped = String.format(java.util.Locale.ROOT, "exited with %d %.1f s after SIGTERM", process.exitValue(),
              (System.nanoTime() - t0) / 1e9);
        } else {
          process.destroyForcibly();
          process.waitFor(10, TimeUnit.SECONDS);
          stopped = "did not exit within 30 s of SIGTERM: killed";
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        process.destroyForcibly();
        stopped = "killed (interrupted while stopping it)";
      }
    }
    int killed = 0;
    for (long pid : workflowProcesses()) {
      if (ProcessHandle.of(pid).map(ProcessHandle::destroyForcibly).orElse(false)) {
        killed++;
      }
    }
    return killed;
  }

  // ----- locating things -----

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  static String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  /**
   * {@code torpor.jar}: {@code -Dtorpor.cli.jar}, else {@code launcher/target/torpor.jar} under the
   * working directory, else next to the bench jar's module ({@code bench/target/../../launcher/target}).
   */
  static Path cliJar() throws IOException {
    String prop = System.getProperty("torpor.cli.jar");
    if (prop != null && !prop.isBlank()) {
      Path p = Path.of(prop).toAbsolutePath();
      if (!Files.isRegularFile(p)) {
        throw new IOException("-Dtorpor.cli.jar=" + prop + " is not a file");
      }
      return p;
    }
    List<Path> candidates = new ArrayList<>();
    candidates.add(Path.of("launcher", "target", "torpor.jar"));
    ownLocation().map(Path::getParent).map(Path::getParent).map(Path::getParent)
        .ifPresent(root -> candidates.add(root.resolve("launcher").resolve("target").resolve("torpor.jar")));
    for (Path c : candidates) {
      if (Files.isRegularFile(c)) {
        return c.toAbsolutePath().normalize();
      }
    }
    throw new IOException("cannot find torpor.jar (looked at " + candidates + "): build it with `mvn install -DskipTests`"
        + " and run from the project root, or pass -Dtorpor.cli.jar=PATH");
  }

  /**
   * The examples jar to upload: the copy embedded in the bench jar, extracted into {@code dir},
   * else {@code examples/target/torpor-examples-*.jar} under the working directory or the project.
   */
  static Path examplesJar(Path dir, String embeddedResource) throws IOException {
    try (var in = BenchServer.class.getResourceAsStream(embeddedResource)) {
      if (in != null) {
        Path jar = dir.resolve("torpor-examples.jar");
        Files.createDirectories(dir);
        Files.copy(in, jar, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        return jar;
      }
    }
    List<Path> dirs = new ArrayList<>();
    dirs.add(Path.of("examples", "target"));
    ownLocation().map(Path::getParent).map(Path::getParent).map(Path::getParent)
        .ifPresent(root -> dirs.add(root.resolve("examples").resolve("target")));
    for (Path d : dirs) {
      if (!Files.isDirectory(d)) {
        continue;
      }
      try (Stream<Path> files = Files.list(d)) {
        Optional<Path> jar = files.filter(f -> {
          String n = f.getFileName().toString();
          return n.startsWith("torpor-examples") && n.endsWith(".jar") && !n.contains("sources") && !n.contains("javadoc");
        }).findFirst();
        if (jar.isPresent()) {
          return jar.get().toAbsolutePath().normalize();
        }
      }
    }
    throw new IOException("cannot find the examples jar: not embedded in this jar, and none in " + dirs);
  }

  /** Where this class was loaded from (a jar, or a classes directory). */
  private static Optional<Path> ownLocation() {
    CodeSource cs = BenchServer.class.getProtectionDomain().getCodeSource();
    if (cs == null || cs.getLocation() == null) {
      return Optional.empty();
    }
    try {
      return Optional.of(Path.of(cs.getLocation().toURI()).toAbsolutePath().normalize());
    } catch (URISyntaxException | RuntimeException e) {
      return Optional.empty();
    }
  }
}
