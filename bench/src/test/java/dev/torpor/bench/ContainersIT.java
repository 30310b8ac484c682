package dev.torpor.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * {@code containers/} built and run for real: the images built with {@code containers/build.sh}
 * on the local Debian base that {@code scripts/install-docker.sh} made, the compose cluster
 * (PostgreSQL, S3Proxy, {@code torpor server --no-worker}, three CRIU workers, every container on
 * the host's network at 127.0.0.1) brought up with docker-compose, used through the server's API
 * with its token, a worker killed, and everything torn down. Then the snapshot benchmark in a
 * worker container and on the host, one after the other. The figures go to {@code
 * target/containers-report.md}; nothing here is timed against a target.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ContainersIT {
  private static final Path REPO = Path.of(System.getProperty("torpor.repo", "..")).toAbsolutePath().normalize();
  private static final Path CLI = Path.of(System.getProperty("torpor.cli.jar"));
  private static final Path EXAMPLES = Path.of(System.getProperty("torpor.examples.jar"));
  private static final Path BENCH = Path.of(System.getProperty("torpor.bench.jar"));
  private static final String DOCKER = Files.isExecutable(Path.of("/usr/bin/docker")) ? "/usr/bin/docker" : "docker";
  private static final List<String> WORKERS = List.of("worker-1", "worker-2", "worker-3");
  /** What compose.yaml gives a worker container: Docker's defaults minus what it does not need, plus three. */
  private static final List<String> WORKER_CAPS = List.of("CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "SETUID",
      "SETGID", "SETPCAP", "KILL", "SYS_CHROOT", "SYS_ADMIN", "SYS_PTRACE", "NET_ADMIN");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Map<String, String> REPORT = new LinkedHashMap<>();

  private static String project;
  private static Path envFile;
  private static String token;
  private static int apiPort;
  private static boolean up;

  @BeforeAll
  static void buildAndStartTheCluster() throws Exception {
    Result info = run(List.of(DOCKER, "info", "--format", "{{.ServerVersion}}"), 60);
    assertThat(info.code()).as("no container engine answers (run scripts/install-docker.sh as root): %s", info.out())
        .isZero();
    REPORT.put("engine", "Docker " + info.out().strip() + ", " + run(List.of("docker-compose", "version", "--short"), 30)
        .out().strip() + " (docker-compose)");

    long t0 = System.nanoTime();
    Result build = run(List.of("bash", REPO.resolve("containers/build.sh").toString()), 1800);
    assertThat(build.code()).as("containers/build.sh: %s", build.out()).isZero();
    REPORT.put("build (containers/build.sh, after the base image)", secondsSince(t0) + " s");
    for (String image : List.of("debian:bookworm", "server:dev", "worker-criu:dev", "s3proxy:dev", "postgres:dev")) {
      Result size = run(List.of(DOCKER, "image", "inspect", "--format", "{{.Size}}", "torpor/" + image), 30);
      assertThat(size.code()).as("image torpor/%s: %s", image, size.out()).isZero();
      REPORT.put("image torpor/" + image, String.format("%.0f MB", Long.parseLong(size.out().strip()) / 1e6));
    }
    System.out.println(build.out());

    project = "torpor-it-" + HexFormat.of().formatHex(new SecureRandom().generateSeed(4));
    token = HexFormat.of().formatHex(new SecureRandom().generateSeed(24));
    apiPort = freePort();
    Result keygen = run(List.of("java", "-jar", CLI.toString(), "images", "keygen"), 60);
    assertThat(keygen.code()).as("torpor images keygen: %s", keygen.out()).isZero();
    envFile = Files.createTempFile("torpor-it-", ".env",
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.writeString(envFile, String.join("\n",
        "TORPOR_TOKEN=" + token,
        "POSTGRES_USER=torpor",
        "POSTGRES_PASSWORD=" + HexFormat.of().formatHex(new SecureRandom().generateSeed(12)),
        "S3_ACCESS_KEY=torpor",
        "S3_SECRET_KEY=" + HexFormat.of().formatHex(new SecureRandom().generateSeed(12)),
        "S3_BUCKET=torpor-images",
        "TORPOR_IMAGE_KEYS=" + keygen.out().strip(),
        "TORPOR_API_PORT=" + apiPort,
        "POSTGRES_PORT=" + freePort(),
        "S3_PORT=" + freePort(),
        "TORPOR_LEASE_TTL=4s",
        ""), StandardCharsets.UTF_8);

    long t1 = System.nanoTime();
    up = true;
    Result started = compose("up", "-d");
    assertThat(started.code()).as("docker-compose up: %s", started.out()).isZero();
    await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(250))
        .until(() -> health() == 200 && WORKERS.stream().allMatch(w -> logs(w).contains(" joined as " + w + "@")));
    REPORT.put("cluster start (up -d → API healthy, 3 workers joined)", secondsSince(t1) + " s");
  }

  @Test
  @Order(1)
  void doctorFindsNothingMissingInAnyWorkerContainer() throws Exception {
    for (String w : WORKERS) {
      Result doctor = run(List.of(DOCKER, "exec", container(w), "java", "-jar", "/opt/torpor/torpor.jar", "doctor"), 120);
      assertThat(doctor.code()).as("torpor doctor in %s:\n%s", w, doctor.out()).isZero();
      assertThat(doctor.out().lines().filter(l -> !l.isBlank()).toList()).as("doctor in %s", w)
          .hasSize(7).allMatch(l -> l.startsWith("ok "));
    }
  }

  @Test
  @Order(2)
  void everyServiceIsOnTheHostsNetworkAndComposeMadeNoNetwork() throws Exception {
    for (String service : List.of("postgres", "s3", "server", "worker-1", "worker-2", "worker-3")) {
      Result mode = run(List.of(DOCKER, "inspect", "--format", "{{.HostConfig.NetworkMode}}", container(service)), 30);
      assertThat(mode.out().strip()).as("network of %s", service).isEqualTo("host");
    }
    Result networks = run(List.of(DOCKER, "network", "ls", "-q", "--filter", "label=com.docker.compose.project=" + project), 30);
    assertThat(networks.code()).isZero();
    assertThat(networks.out().strip()).as("networks compose made for the project").isEmpty();
  }

  @Test
  @Order(2)
  void workersRunWithTheListedCapabilitiesAndNoMore() throws Exception {
    for (String w : WORKERS) {
      JsonNode host = JSON.readTree(run(List.of(DOCKER, "inspect", "--format", "{{json .HostConfig}}", container(w)), 30).out());
      assertThat(host.get("Privileged").asBoolean()).as("%s privileged", w).isFalse();
      assertThat(host.get("NetworkMode").asText()).as("%s network", w).isEqualTo("host");
      assertThat(texts(host.get("CapDrop"))).as("%s cap_drop", w).containsExactly("ALL");
      assertThat(texts(host.get("CapAdd")).stream().map(c -> c.replaceFirst("^CAP_", "")).toList()).as("%s cap_add", w)
          .containsExactlyInAnyOrderElementsOf(WORKER_CAPS);
      assertThat(texts(host.get("SecurityOpt"))).as("%s security_opt", w).containsExactly("seccomp=unconfined");
      // What the worker process really holds: exactly those, as the kernel reports them.
      String status = run(List.of(DOCKER, "exec", container(w), "cat", "/proc/1/status"), 30).out();
      long eff = Long.parseUnsignedLong(field(status, "CapEff"), 16);
      assertThat(Long.bitCount(eff)).as("%s: capabilities in effect (%s)", w, Long.toHexString(eff))
          .isEqualTo(WORKER_CAPS.size());
      assertThat(eff & (1L << 24)).as("%s: CAP_SYS_RESOURCE", w).isZero();
      assertThat(eff & (1L << 16)).as("%s: CAP_SYS_MODULE", w).isZero();
    }
  }

  @Test
  @Order(3)
  void aProTrialFrozenInOneWorkerContainerCompletesInAnotherAfterTheFirstIsKilled() throws Exception {
    String id = "trial-alice";
    Result submit = cli("submit", "--jar", EXAMPLES.toString(), "--main", "dev.torpor.examples.ProTrial", "--id", id,
        "--", "alice", "2", "600");
    assertThat(submit.code()).as("submit: %s", submit.out()).isZero();
    await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(200))
        .until(() -> "SUSPENDED".equals(status(id).path("state").asText())
            && history(id).stream().anyMatch(e -> type(e).equals("SUSPENDED") && e.path("details").path("wait").asText().equals("SIGNAL")));
    List<JsonNode> before = history(id);
    String holder = workerOf(before.stream().filter(e -> e.path("details").has("worker")).reduce((a, b) -> b).orElseThrow());
    long frozenSeq = before.stream().filter(e -> type(e).equals("SUSPENDED")).reduce((a, b) -> b).orElseThrow().get("seq").asLong();
    assertThat(WORKERS).as("the worker that froze the trial").contains(holder);

    Result kill = run(List.of(DOCKER, "kill", container(holder)), 60);
    assertThat(kill.code()).as("docker kill %s: %s", holder, kill.out()).isZero();
    Result signal = cli("signal", id, "upgrade", "annual");
    assertThat(signal.code()).as("signal: %s", signal.out()).isZero();
    await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(200))
        .until(() -> List.of("COMPLETED", "FAILED").contains(status(id).path("state").asText()));

    List<JsonNode> history = history(id);
    String types = history.stream().map(ContainersIT::type).collect(Collectors.joining(" "));
    assertThat(status(id).path("state").asText()).as("state; history: %s", types).isEqualTo("COMPLETED");
    JsonNode resumed = history.stream().filter(e -> type(e).equals("RESUMED") && e.get("seq").asLong() == frozenSeq)
        .findFirst().orElseThrow(() -> new AssertionError("no RESUMED from image " + frozenSeq + ": " + types));
    JsonNode waking = history.stream().filter(e -> type(e).equals("WAKING") && e.get("seq").asLong() == frozenSeq)
        .reduce((a, b) -> b).orElseThrow();
    String restorer = workerOf(waking);
    assertThat(restorer).as("the worker that restored image %d (frozen on %s)", frozenSeq, holder)
        .isIn(WORKERS).isNotEqualTo(holder);
    assertThat(resumed.get("seq").asLong()).isEqualTo(frozenSeq);
    assertThat(history.stream().filter(e -> e.path("details").has("worker")).map(ContainersIT::workerOf))
        .as("workers named in the history").contains(holder, restorer);
    Result logs = cli("logs", id);
    assertThat(logs.out()).contains("upgrade received: annual", "trial of alice done");
    REPORT.put("pro-trial", "frozen on " + holder + " (then killed), restored and completed on " + restorer);
  }

  @Test
  @Order(4)
  void tearDownLeavesNoContainersVolumesOrNetworks() throws Exception {
    tearDown();
    String label = "label=com.docker.compose.project=" + project;
    for (List<String> what : List.of(List.of("ps", "-a", "-q"), List.of("volume", "ls", "-q"), List.of("network", "ls", "-q"))) {
      List<String> cmd = new ArrayList<>(List.of(DOCKER));
      cmd.addAll(what);
      cmd.addAll(List.of("--filter", label));
      Result left = run(cmd, 60);
      assertThat(left.code()).isZero();
      assertThat(left.out().strip()).as("%s left behind", String.join(" ", what)).isEmpty();
    }
  }

  @Test
  @Order(5)
  void snapshotBenchmarkInAWorkerContainerAndOnTheHost() throws Exception {
    Path out = Files.createTempDirectory("torpor-containers-bench-");
    List<String> container = new ArrayList<>(List.of(DOCKER, "run", "--rm", "--network", "host", "--cap-drop", "ALL"));
    WORKER_CAPS.forEach(c -> container.addAll(List.of("--cap-add", c)));
    container.addAll(List.of("--security-opt", "seccomp=unconfined", "-v", BENCH + ":/bench/torpor-bench.jar:ro",
        "--entrypoint", "java", "torpor/worker-criu:dev", "-cp", "/bench/torpor-bench.jar",
        "dev.torpor.bench.SnapshotBenchmark", "23", "1"));
    Result inContainer = run(container, 600);
    assertThat(inContainer.code()).as("benchmark in a worker container:\n%s", inContainer.out()).isZero();
    Result onHost = run(List.of("java", "-cp", BENCH.toString(), "dev.torpor.bench.SnapshotBenchmark", "23", "1",
        out.resolve("host.md").toString()), 600);
    assertThat(onHost.code()).as("benchmark on the host:\n%s", onHost.out()).isZero();
    for (String what : List.of("suspend", "resume")) {
      REPORT.put(what + " p50 in a worker container / on the host",
          p50(inContainer.out(), what) + " ms / " + p50(onHost.out(), what) + " ms");
    }
  }

  @AfterAll
  static void report() throws IOException {
    try {
      tearDown();
    } finally {
      StringBuilder md = new StringBuilder("# containers/ (ContainersIT)\n\n| what | measured |\n|---|---|\n");
      REPORT.forEach((k, v) -> md.append("| ").append(k).append(" | ").append(v).append(" |\n"));
      Path file = Path.of("target", "containers-report.md");
      Files.createDirectories(file.getParent());
      Files.writeString(file, md.toString(), StandardCharsets.UTF_8);
      System.out.println(md);
    }
  }

  // ----- helpers -----

  private static void tearDown() throws IOException {
    if (up) {
      Result down = compose("down", "-v", "--remove-orphans", "--timeout", "10");
      assertThat(down.code()).as("docker-compose down: %s", down.out()).isZero();
      up = false;
      Files.deleteIfExists(envFile);
    }
  }

  private static Result compose(String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of("docker-compose", "-p", project, "-f",
        REPO.resolve("containers/compose.yaml").toString(), "--env-file", envFile.toString()));
    cmd.addAll(List.of(args));
    return run(cmd, 300);
  }

  /** The container compose made for {@code service}. */
  private static String container(String service) throws IOException {
    Result id = compose("ps", "-q", service);
    assertThat(id.out().strip()).as("container of %s", service).isNotEmpty();
    return id.out().strip().lines().reduce((a, b) -> b).orElseThrow();
  }

  private static String logs(String service) {
    try {
      return compose("logs", "--no-color", service).out();
    } catch (IOException e) {
      return "";
    }
  }

  private static Result cli(String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of("java", "-jar", CLI.toString()));
    cmd.addAll(List.of(args));
    return run(cmd, 120, Map.of("TORPOR_SERVER", "http://127.0.0.1:" + apiPort, "TORPOR_TOKEN", token));
  }

  private static int health() {
    try {
      return get("/v1/health").statusCode();
    } catch (IOException e) {
      return -1;
    }
  }

  private static JsonNode status(String id) throws IOException {
    return JSON.readTree(get("/v1/workflows/" + id).body());
  }

  private static List<JsonNode> history(String id) throws IOException {
    JsonNode all = JSON.readTree(get("/v1/workflows/" + id + "/history").body());
    JsonNode events = all.isArray() ? all : all.path("events");
    List<JsonNode> list = new ArrayList<>();
    events.forEach(list::add);
    return list;
  }

  private static HttpResponse<String> get(String path) throws IOException {
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiPort + path))
        .header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(10)).build();
    try {
      return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }

  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private static String type(JsonNode e) {
    return e.path("type").asText();
  }

  /** The worker's name in an event's details ({@code worker-2@4fb826f8} → {@code worker-2}). */
  private static String workerOf(JsonNode e) {
    return e.path("details").path("worker").asText().replaceAll("@.*", "");
  }

  private static List<String> texts(JsonNode array) {
    List<String> list = new ArrayList<>();
    if (array != null) {
      array.forEach(n -> list.add(n.asText()));
    }
    return list;
  }

  private static String field(String status, String name) {
    return status.lines().filter(l -> l.startsWith(name + ":")).findFirst().orElseThrow()
        .substring(name.length() + 1).strip();
  }

  private static String p50(String benchOutput, String what) {
    Matcher m = Pattern.compile("- " + what + " p50 ([0-9.]+) ms").matcher(benchOutput);
    assertThat(m.find()).as("%s p50 in the benchmark's output:\n%s", what, benchOutput).isTrue();
    return m.group(1);
  }

  private static long secondsSince(long t0) {
    return Math.round((System.nanoTime() - t0) / 1e9);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  record Result(int code, String out) {}

  private static Result run(List<String> cmd, int timeoutSeconds) throws IOException {
    return run(cmd, timeoutSeconds, Map.of());
  }

  private static Result run(List<String> cmd, int timeoutSeconds, Map<String, String> env) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().putAll(env);
    Process p = pb.start();
    p.getOutputStream().close();
    byte[][] out = new byte[1][];
    Thread reader = new Thread(() -> {
      try {
        out[0] = p.getInputStream().readAllBytes();
      } catch (IOException e) {
        out[0] = new byte[0];
      }
    });
    reader.start();
    try {
      if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException(String.join(" ", cmd) + " did not finish in " + timeoutSeconds + " s");
      }
      reader.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
    return new Result(p.exitValue(), new String(out[0], StandardCharsets.UTF_8));
  }
}
