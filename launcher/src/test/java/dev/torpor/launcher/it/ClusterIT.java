package dev.torpor.launcher.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.torpor.launcher.it.workflows.Ledger;
import dev.torpor.scheduler.PostgresProcess;
import dev.torpor.scheduler.TestCerts;
import dev.torpor.storage.S3ProxyProcess;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A Torpor cluster on one machine, all real processes: PostgreSQL (registry, clustered Quartz),
 * S3Proxy (images and application jars), {@code torpor server --no-worker} (API only) and
 * {@code torpor worker} processes with their own data directories and the cluster's shared run
 * and lib directories. The workflows write their side effects to PostgreSQL themselves, so the
 * tests count what really ran.
 */
class ClusterIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String BUCKET = "cluster";
  private static final String TTL = "6s";
  private static PostgresProcess pg;
  private static S3ProxyProcess s3;
  private static Path keys;
  private static int databases;

  private static Path certDir;
  private static TestCerts certs;
  private Path dir;
  /** The registry's URL, as the nodes get it (with --ca-file: TLS, the certificate verified). */
  private String dbUrl;
  /** The same database for the test's and the workflows' own rows: TLS, not verified (a workflow sees no CA file). */
  private String sideUrl;
  private String prefix;
  private ServerProcess server;
  private final List<WorkerProcess> workers = new ArrayList<>();

  @BeforeAll
  static void servers() throws Exception {
    certDir = Files.createTempDirectory("torpor-cluster-certs-");
    certs = TestCerts.make(certDir, "cluster");
    pg = new PostgresProcess(certs);
    s3 = S3ProxyProcess.launch();
    s3.createBucket(BUCKET);
    keys = Files.createTempFile("torpor-cluster-", ".keys");
    Files.writeString(keys, dev.torpor.storage.crypto.ImageKeyring.generate() + "\n");
  }

  @AfterAll
  static void stopServers() throws IOException {
    if (s3 != null) {
      s3.close();
    }
    if (pg != null) {
      pg.close();
    }
    if (keys != null) {
      Files.deleteIfExists(keys);
    }
    if (certDir != null) {
      TestDirs.deleteTree(certDir);
    }
  }

  /** A fresh database, store prefix and cluster directory; the API server in front. */
  private void cluster() throws Exception {
    String name = "cluster" + (++databases);
    dbUrl = pg.createDatabase(name);
    sideUrl = dbUrl + "?sslmode=require";
    prefix = name;
    dir = TestDirs.traversable("torpor-cl-");
    try (Connection c = DriverManager.getConnection(sideUrl, "postgres", ""); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE ledger (workflow_id VARCHAR(128), step VARCHAR(64), runs INT, PRIMARY KEY (workflow_id, step))");
    }
    server = new ServerProcess(concat(List.of("--quiet", "--no-worker"), shared()).toArray(String[]::new)).tls(certs);
    s3env().forEach(server::env);
    server.start();
  }

  private List<String> shared() {
    return List.of("--db-url", dbUrl, "--db-user", "postgres", "--ca-file", certs.ca().toString(),
        "--image-key-file", keys.toString(),
        "--store", "s3://" + BUCKET + "/" + prefix,
        "--s3-endpoint", s3.endpoint().toString(), "--s3-region", "us-east-1", "--lease-ttl", TTL);
  }

  private static Map<String, String> s3env() {
    return Map.of("AWS_ACCESS_KEY_ID", s3.accessKey(), "AWS_SECRET_ACCESS_KEY", s3.secretKey());
  }

  private WorkerProcess worker(String name, String java, int maxRunning, String... more) throws IOException {
    List<String> args = concat(concat(List.of("--quiet", "--run-dir", dir.resolve("run").toString(), "--lib-dir",
        dir.resolve("lib").toString(), "--max-running", Integer.toString(maxRunning)), shared()), List.of(more));
    WorkerProcess w = new WorkerProcess(name, dir, java, s3env(), args.toArray(String[]::new));
    workers.add(w);
    return w.start();
  }

  @AfterEach
  void stop() throws IOException {
    for (WorkerProcess w : workers) {
      w.close();
    }
    if (server != null) {
      server.close();
    }
    if (dir != null) {
      dev.torpor.launcher.internal.ProcessScan.killUnder(dir.resolve("run"));
      TestDirs.deleteTree(dir);
    }
  }

  @Test
  void threeHundredWorkflowsWithTimersAndSignalsRunExactlyOnceOverThreeWorkers() throws Exception {
    cluster();
    int metricsPort = ServerProcess.freePort();
    WorkerProcess first = worker("w1", ServerProcess.java(), 4, "--metrics-listen", "127.0.0.1:" + metricsPort);
    for (int i = 2; i <= 3; i++) {
      worker("w" + i, ServerProcess.java(), 4);
    }
    String app = upload();
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      String id = "wf-" + i;
      submit(app, id, List.of(sideUrl, Integer.toString(1000 + (i % 5) * 200), i % 2 == 0 ? "signal" : "none"));
      ids.add(id);
    }
    for (int i = 0; i < 300; i += 2) {
      signal("wf-" + i, "go", "ok-" + i);
    }
    awaitCompleted(ids, Duration.ofMinutes(20));

    Map<String, Map<String, Integer>> ledger = ledger();
    Set<String> workersSeen = new HashSet<>();
    for (int i = 0; i < 300; i++) {
      String id = "wf-" + i;
      Map<String, Integer> expected = new LinkedHashMap<>();
      expected.put("start", 1);
      expected.put("timer", 1);
      if (i % 2 == 0) {
        expected.put("signal:ok-" + i, 1);
      }
      expected.put("done", 1);
      assertThat(ledger.get(id)).as("side effects of %s", id).isEqualTo(expected);
      assertThat(logs(id)).as("log of %s, whose segments ran on several workers", id)
          .isEqualTo("start " + id + "\ndone " + id + "\n");
      List<JsonNode> history = history(id);
      assertThat(types(history)).as("history of %s", id)
          .doesNotContain("RECOVERED", "RESTORE_FAILED", "DECLINED", "FAILED")
          .containsOnlyOnce("STARTED", "COMPLETED");
      assertThat(count(history, "SUSPENDED")).as("freezes of %s", id).isLessThanOrEqualTo(i % 2 == 0 ? 3 : 2);
      history.stream().filter(e -> e.has("details") && e.get("details").has("worker"))
          .forEach(e -> workersSeen.add(e.get("details").get("worker").asText().replaceAll("@.*", "")));
    }
    assertThat(workersSeen).as("workers that ran segments").containsExactlyInAnyOrder("w1", "w2", "w3");

    // Issue #16: a worker's own metrics, behind its token, on its --metrics-listen.
    java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
    java.net.URI uri = java.net.URI.create("http://127.0.0.1:" + metricsPort + "/metrics");
    assertThat(http.send(java.net.http.HttpRequest.newBuilder(uri).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString()).statusCode()).as("no token, no metrics").isEqualTo(401);
    String token = java.nio.file.Files.readString(first.data.resolve("api-token")).strip();
    java.net.http.HttpResponse<String> scraped = http.send(java.net.http.HttpRequest.newBuilder(uri)
        .header("Authorization", "Bearer " + token).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
    assertThat(scraped.statusCode()).as(scraped.body()).isEqualTo(200);
    Map<String, Double> m = ServerProcess.parseMetrics(scraped.body());
    assertThat(m.get("torpor_checkpoint_seconds_count")).as("w1's checkpoints").isGreaterThan(0.0);
    assertThat(m.get("torpor_restore_seconds_count")).as("w1's restores").isGreaterThan(0.0);
    assertThat(m.get("torpor_lease_renewals_total{result=\"ok\"}")).as("w1's renewals").isGreaterThan(0.0);
    assertThat(m.get("torpor_workflows{state=\"completed\"}")).as("the registry's count").isEqualTo(300.0);
    assertThat(m.get("torpor_worker_slots_available")).isBetween(0.0, 4.0);
  }

  @Test
  void aWorkerKilledWhileItRunsSegmentsLosesNothingAndItsJvmsDieWithIt() throws Exception {
    cluster();
    for (int i = 1; i <= 3; i++) {
      worker("w" + i, ServerProcess.java(), 4);
    }
    String app = upload();
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 24; i++) {
      String id = "crash-" + i;
      submit(app, id, List.of(sideUrl, "1500", i % 2 == 0 ? "signal" : "none", "2500"));
      ids.add(id);
    }
    WorkerProcess victim = workers.get(1);
    await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(100)).until(() -> ownedRunning("w2") >= 2);
    List<Long> itsProcesses = victim.descendants();
    Set<String> ran = ownedIds("w2");
    Instant killed = Instant.now();
    victim.kill9();
    // Its workflow JVMs die with it, before its lease expires: no second live copy can ever meet them.
    await().atMost(Duration.ofSeconds(4)).pollInterval(Duration.ofMillis(50))
        .until(() -> itsProcesses.stream().noneMatch(p -> ProcessHandle.of(p).map(ProcessHandle::isAlive).orElse(false)));
    for (int i = 0; i < 24; i += 2) {
      signal("crash-" + i, "go", "ok");
    }
    awaitCompleted(ids, Duration.ofMinutes(10));
    // Every node looks for orphans every second: none may recover a workflow twice, nor undo a finish.
    await().during(Duration.ofSeconds(8)).atMost(Duration.ofSeconds(12)).pollInterval(Duration.ofMillis(500))
        .until(() -> completed() == ids.size());

    Map<String, Map<String, Integer>> ledger = ledger();
    Instant firstRecovery = null;
    int recovered = 0;
    for (int i = 0; i < 24; i++) {
      String id = "crash-" + i;
      List<JsonNode> history = history(id);
      int recoveries = count(history, "RECOVERED");
      assertThat(recoveries).as("recoveries of %s after one kill: %s", id, types(history)).isLessThanOrEqualTo(1);
      assertThat(types(history).get(types(history).size() - 1)).as("last event of %s", id).isEqualTo("COMPLETED");
      Map<String, Integer> steps = ledger.get(id);
      List<String> expected = new ArrayList<>(List.of("start", "timer"));
      if (i % 2 == 0) {
        expected.add("signal:ok");
      }
      expected.add("done");
      assertThat(steps.keySet()).as("steps of %s", id).containsExactlyInAnyOrderElementsOf(expected);
      // What a lost segment printed was never shipped: the log holds each line once.
      assertThat(logs(id)).as("log of %s", id).isEqualTo("start " + id + "\ndone " + id + "\n");
      int extra = steps.values().stream().mapToInt(n -> n - 1).sum();
      // A step runs again only when its segment was lost with the worker and re-ran from the last image.
      assertThat(extra).as("re-run steps of %s (recoveries: %d)", id, recoveries).isLessThanOrEqualTo(recoveries);
      for (JsonNode e : history) {
        if (e.get("type").asText().equals("RECOVERED")) {
          recovered++;
          assertThat(ran).as("%s was recovered, so w2 must have run it", id).contains(id);
          assertThat(e.get("details").get("lostWorker").asText()).startsWith("w2@");
          Instant at = Instant.parse(e.get("at").asText());
          firstRecovery = firstRecovery == null || at.isBefore(firstRecovery) ? at : firstRecovery;
        }
      }
    }
    assertThat(recovered).as("segments recovered from the killed worker").isGreaterThanOrEqualTo(ran.size());
    System.out.println("ClusterIT failover: worker killed at " + killed + ", first workflow recovered after "
        + Duration.between(killed, firstRecovery).toMillis() + " ms (lease TTL " + TTL + ")");
  }

  @Test
  void aWorkerThatStallsPastItsLeaseFencesItselfAndCommitsNothing() throws Exception {
    cluster();
    worker("w1", ServerProcess.java(), 4);
    WorkerProcess stalled = worker("w2", ServerProcess.java(), 4);
    String app = upload();
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      String id = "stall-" + i;
      submit(app, id, List.of(sideUrl, "1000", "none", "3000"));
      ids.add(id);
    }
    await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(50)).until(() -> ownedRunning("w2") >= 1);
    String oldLease = leaseOf("w2");
    Set<String> taken = ownedIds("w2");
    stalled.signal("STOP"); // a stall: a long GC pause, a frozen VM
    // Its lease expires and its segments resume on w1, which kills the stale JVMs on this machine first.
    await().atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(200))
        .until(() -> taken.stream().allMatch(id -> {
          try {
            return types(history(id)).contains("RECOVERED");
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        }));
    stalled.signal("CONT");
    await().atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(200))
        .until(() -> stalled.err().contains("is fenced") && stalled.err().contains("rejoined the cluster as"));
    awaitCompleted(ids, Duration.ofMinutes(10));

    Map<String, Map<String, Integer>> ledger = ledger();
    for (String id : ids) {
      List<JsonNode> history = history(id);
      List<String> types = types(history);
      int recovered = types.indexOf("RECOVERED");
      if (taken.contains(id)) {
        assertThat(recovered).as("%s ran on the stalled worker: %s", id, types).isNotNegative();
        // Nothing the stalled worker's old lease did after the recovery reached the registry.
        for (JsonNode e : history.subList(recovered, history.size())) {
          JsonNode worker = e.get("details").get("worker");
          assertThat(worker == null ? "" : worker.asText()).as("%s after its recovery", id).isNotEqualTo(oldLease);
        }
      }
      assertThat(types.get(types.size() - 1)).isEqualTo("COMPLETED");
      int extra = ledger.get(id).values().stream().mapToInt(n -> n - 1).sum();
      assertThat(extra).as("re-run steps of %s", id).isLessThanOrEqualTo(recovered < 0 ? 0 : 1);
      assertThat(logs(id)).as("log of %s: %s", id, history).isEqualTo("start " + id + "\ndone " + id + "\n");
    }
    assertThat(stalled.isAlive()).as("the stalled worker rejoined rather than died").isTrue();
  }

  private String leaseOf(String worker) throws SQLException {
    try (Connection c = DriverManager.getConnection(sideUrl, "postgres", "");
        var ps = c.prepareStatement("SELECT id FROM torpor_worker WHERE name = ? AND state = 'LIVE'")) {
      ps.setString(1, worker);
      try (ResultSet rs = ps.executeQuery()) {
        assertThat(rs.next()).as("a live lease of %s", worker).isTrue();
        return rs.getString(1);
      }
    }
  }

  @Test
  void aWorkerOnAnotherJdkDeclinesAnImageAndAWorkerWithItsJdkRestoresIt() throws Exception {
    cluster();
    WorkerProcess jdk17 = worker("w17", ServerProcess.java(), 2);
    String app = upload();
    submit(app, "jdk", List.of(sideUrl, "3000", "none"));
    await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(100)).until(() -> "SUSPENDED".equals(state("jdk")));
    jdk17.close(); // a clean stop: it leaves the cluster at once
    workers.remove(jdk17);
    String otherJava = anotherJdk();
    worker("w-other", otherJava, 2);
    await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(200))
        .until(() -> types(history("jdk")).contains("UNRESTORABLE"));
    JsonNode declined = history("jdk").stream().filter(e -> e.get("type").asText().equals("DECLINED")).findFirst().orElseThrow();
    assertThat(declined.get("details").get("worker").asText()).startsWith("w-other@");
    assertThat(declined.get("details").get("reason").asText()).contains("this worker runs workflows on JDK")
        .contains(dir.resolve("another-jdk").toString());
    assertThat(state("jdk")).isEqualTo("SUSPENDED");
    assertThat(ledger().get("jdk")).isEqualTo(Map.of("start", 1));

    worker("w17b", ServerProcess.java(), 2);
    awaitCompleted(List.of("jdk"), Duration.ofMinutes(2));
    assertThat(ledger().get("jdk")).isEqualTo(Map.of("start", 1, "timer", 1, "done", 1));
    List<String> types = types(history("jdk"));
    assertThat(types.indexOf("UNRESTORABLE")).isLessThan(types.lastIndexOf("RESUMED"));
    List<JsonNode> declines = history("jdk").stream().filter(e -> e.get("type").asText().equals("DECLINED")).toList();
    assertThat(declines).as("declines: %s", history("jdk")).isNotEmpty()
        .allMatch(e -> e.get("details").get("worker").asText().startsWith("w-other@"));
  }

  @Test
  void aWorkerKilledInTheMiddleOfADumpAnUploadAndARestoreLosesNothing() throws Exception {
    cluster();
    WorkerProcess w1 = worker("w1", ServerProcess.java(), 2);
    w1Ref = w1;
    String app = upload();
    // 200 MiB of random heap: the dump, the upload and the restore each take a while.
    submit(app, "heavy", List.of(sideUrl, "1000", "none", "0", "200"));

    killWhen(w1, "dump", () -> running(w1Ref, "criu", "dump"));
    killWhen(restarted(w1Ref), "upload", () -> !running(w1Ref, "criu", "dump") && hasDump(w1Ref, "heavy"));
    killWhen(restarted(w1Ref), "restore", () -> running(w1Ref, "criu", "restore"));
    restarted(w1Ref);
    awaitCompleted(List.of("heavy"), Duration.ofMinutes(5));

    List<String> types = types(history("heavy"));
    assertThat(count(history("heavy"), "RECOVERED")).as("history %s", types).isGreaterThanOrEqualTo(3);
    assertThat(types).contains("SUSPENDED", "RESUMED").doesNotContain("FAILED");
    Map<String, Integer> steps = ledger().get("heavy");
    assertThat(steps.keySet()).containsExactlyInAnyOrder("start", "timer", "done");
    assertThat(steps.get("start")).as("the first segment ran again after the kills mid-dump and mid-upload")
        .isGreaterThanOrEqualTo(3);
    assertThat(logs("heavy")).isEqualTo("start heavy\ndone heavy\n");
    // A restore killed half-way leaves a tree with no parent, which the restarted worker kills;
    // had it lived on, it would hold the wake socket the next restore's wake goes to.
    assertThat(orphanedWorkflowProcesses()).as("workflow processes handed to init").isEmpty();
  }

  /** Processes of the workflow user (2000000) or its namespace root (2000001) whose parent is init. */
  private static List<String> orphanedWorkflowProcesses() throws IOException {
    List<String> found = new ArrayList<>();
    try (var procs = java.nio.file.Files.list(java.nio.file.Path.of("/proc"))) {
      for (java.nio.file.Path p : procs.filter(q -> q.getFileName().toString().matches("[0-9]+")).toList()) {
        try {
          String status = java.nio.file.Files.readString(p.resolve("status"));
          String uid = status.replaceAll("(?s).*\nUid:\\s+(\\d+).*", "$1");
          String ppid = status.replaceAll("(?s).*\nPPid:\\s+(\\d+).*", "$1");
          if (ppid.equals("1") && (uid.equals("2000000") || uid.equals("2000001"))) {
            found.add(p.getFileName() + " uid " + uid);
          }
        } catch (IOException e) {
          // gone meanwhile
        }
      }
    }
    return found;
  }

  /** The worker the last {@link #killWhen} or {@link #restarted} left, for the next condition. */
  private WorkerProcess w1Ref;

  private void killWhen(WorkerProcess w, String phase, java.util.concurrent.Callable<Boolean> inPhase) throws Exception {
    w1Ref = w;
    await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(10)).until(inPhase);
    w.kill9();
    System.out.println("ClusterIT: killed " + w.name + " in the middle of a " + phase);
  }

  private WorkerProcess restarted(WorkerProcess w) throws Exception {
    workers.remove(w);
    WorkerProcess again = worker(w.name, ServerProcess.java(), 2);
    w1Ref = again;
    return again;
  }

  /** Whether one of the worker's processes is {@code words}, e.g. criu dump. */
  private static boolean running(WorkerProcess w, String... words) {
    return w.descendants().stream().anyMatch(pid -> {
      try {
        String cmd = Files.readString(Path.of("/proc", Long.toString(pid), "cmdline")).replace('\0', ' ');
        return java.util.Arrays.stream(words).allMatch(cmd::contains);
      } catch (IOException e) {
        return false; // gone meanwhile
      }
    });
  }

  /** Whether the worker has a finished dump of the workflow on its scratch space (packing and uploading it). */
  private static boolean hasDump(WorkerProcess w, String id) throws IOException {
    java.util.Optional<Path> scratch = dev.torpor.launcher.internal.Scratch.current(
        dev.torpor.launcher.internal.Scratch.defaultBase(w.data), w.data);
    if (scratch.isEmpty()) {
      return false;
    }
    Path dumps = scratch.get().resolve("dumps").resolve(id);
    if (!Files.isDirectory(dumps)) {
      return false;
    }
    try (Stream<Path> seqs = Files.list(dumps)) {
      return seqs.anyMatch(d -> Files.exists(d.resolve("pages-1.img")) || Files.exists(d.resolve("inventory.img")));
    }
  }

  @Test
  void aPostgresRestartUnderLoadLosesNothing() throws Exception {
    cluster();
    for (int i = 1; i <= 2; i++) {
      worker("w" + i, ServerProcess.java(), 4);
    }
    String app = upload();
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      String id = "pg-" + i;
      submit(app, id, List.of(sideUrl, Integer.toString(800 + (i % 4) * 400), "none"));
      ids.add(id);
    }
    await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(100)).until(() -> completed() >= 5);
    pg.restart();
    awaitCompleted(ids, Duration.ofMinutes(10));
    Map<String, Map<String, Integer>> ledger = ledger();
    for (String id : ids) {
      assertThat(ledger.get(id)).as("side effects of %s", id).isEqualTo(Map.of("start", 1, "timer", 1, "done", 1));
    }
    for (WorkerProcess w : workers) {
      assertThat(w.isAlive()).as("worker %s rode out the restart", w.name).isTrue();
    }
  }

  // ----- helpers -----

  /**
   * The java of another JDK: a copy of the test's own at another path, made in the test's directory
   * (hard links where it can). Workers restore only images of the JDK at the path they run, so a
   * worker given this one is a worker of another JDK; a fresh machine has no second JDK to install.
   */
  private String anotherJdk() throws IOException, InterruptedException {
    Path home = Path.of(System.getProperty("java.home"));
    Path copy = dir.resolve("another-jdk");
    for (String flags : List.of("-al", "-a")) {
      Process p = new ProcessBuilder("cp", flags, home.toString(), copy.toString()).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      if (p.waitFor() == 0) {
        return copy.resolve("bin/java").toString();
      }
      TestDirs.deleteTree(copy);
    }
    throw new AssertionError("cannot copy the JDK at " + home + " to " + copy);
  }

  /** The test workflows and the PostgreSQL driver in one jar, as a user would ship an application. */
  private Path appJar() throws IOException, java.net.URISyntaxException {
    Path jar = dir.resolve("ledger-app.jar");
    Path classes = WorkerHarness.workflowClasses();
    Path pkg = classes.resolve("dev/torpor/launcher/it/workflows");
    Path driver = Path.of(org.postgresql.Driver.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar)); Stream<Path> files = Files.list(pkg);
        JarFile pgJar = new JarFile(driver.toFile())) {
      for (Path f : files.sorted().toList()) {
        out.putNextEntry(new JarEntry(classes.relativize(f).toString()));
        Files.copy(f, out);
        out.closeEntry();
      }
      for (JarEntry e : java.util.Collections.list(pgJar.entries())) {
        String n = e.getName();
        if (e.isDirectory() || n.equals("META-INF/MANIFEST.MF") || n.matches("META-INF/.*\\.(SF|RSA|DSA)")) {
          continue;
        }
        out.putNextEntry(new JarEntry(n));
        try (InputStream in = pgJar.getInputStream(e)) {
          in.transferTo(out);
        }
        out.closeEntry();
      }
    }
    return jar;
  }

  private String upload() throws Exception {
    var resp = server.post("/v1/apps", "application/java-archive", Files.readAllBytes(appJar()));
    assertThat(resp.statusCode()).as(resp.body()).isEqualTo(200);
    return JSON.readTree(resp.body()).get("sha256").asText();
  }

  private void submit(String app, String id, List<String> args) throws Exception {
    Map<String, Object> body = Map.of("id", id, "app", app, "main", Ledger.class.getName(), "args", args);
    var resp = server.post("/v1/workflows", "application/json", JSON.writeValueAsBytes(body));
    assertThat(resp.statusCode()).as(resp.body()).isIn(200, 201);
  }

  private void signal(String id, String name, String payload) throws Exception {
    var resp = server.post("/v1/workflows/" + id + "/signals/" + name, "application/octet-stream", payload.getBytes(StandardCharsets.UTF_8));
    assertThat(resp.statusCode()).as(resp.body()).isIn(200, 202, 204);
  }

  private String logs(String id) throws Exception {
    return server.get("/v1/workflows/" + id + "/logs").body();
  }

  private String state(String id) throws Exception {
    return JSON.readTree(server.get("/v1/workflows/" + id).body()).get("state").asText();
  }

  private List<JsonNode> history(String id) throws Exception {
    JsonNode h = JSON.readTree(server.get("/v1/workflows/" + id + "/history").body());
    List<JsonNode> out = new ArrayList<>();
    (h.isArray() ? h : h.get("events")).forEach(out::add);
    return out;
  }

  private static List<String> types(List<JsonNode> history) {
    return history.stream().map(e -> e.get("type").asText()).toList();
  }

  private static int count(List<JsonNode> history, String type) {
    return (int) history.stream().filter(e -> e.get("type").asText().equals(type)).count();
  }

  /** How many workflows of this test's cluster have completed. */
  private int completed() throws Exception {
    try (Connection c = DriverManager.getConnection(sideUrl, "postgres", ""); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM torpor_workflow WHERE state = 'COMPLETED'")) {
      rs.next();
      return rs.getInt(1);
    } catch (SQLException e) {
      return 0; // restarting
    }
  }

  private void awaitCompleted(List<String> ids, Duration atMost) throws Exception {
    try {
      awaitAll(ids, atMost);
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      StringBuilder why = new StringBuilder("not all of " + ids.size() + " workflows completed in " + atMost + ":\n");
      try (Connection c = DriverManager.getConnection(sideUrl, "postgres", ""); Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT id, state, seq, owner, in_memory FROM torpor_workflow"
              + " WHERE state <> 'COMPLETED' ORDER BY id LIMIT 5")) {
        while (rs.next()) {
          why.append(rs.getString(1)).append(' ').append(rs.getString(2)).append(" seq ").append(rs.getLong(3))
              .append(" owner ").append(rs.getString(4)).append(" inMemory ").append(rs.getBoolean(5)).append('\n')
              .append(types(history(rs.getString(1)))).append('\n');
        }
      }
      for (WorkerProcess w : workers) { // what each worker said, to tell a stuck wake from a dead worker
        String err = w.err();
        why.append("--- ").append(w.name).append(" stderr (tail):\n")
            .append(err.length() > 3000 ? err.substring(err.length() - 3000) : err).append('\n')
            .append("--- ").append(w.name).append(" threads and processes:\n").append(w.diagnostics()).append('\n');
      }
      throw new AssertionError(why.toString(), e);
    }
  }

  private void awaitAll(List<String> ids, Duration atMost) {
    await().atMost(atMost).pollInterval(Duration.ofMillis(500)).until(() -> {
      Map<String, Integer> states = new HashMap<>();
      try (Connection c = DriverManager.getConnection(sideUrl, "postgres", ""); Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT state, COUNT(*) FROM torpor_workflow GROUP BY state")) {
        while (rs.next()) {
          states.put(rs.getString(1), rs.getInt(2));
        }
      } catch (SQLException e) {
        return false; // the database is restarting
      }
      for (String bad : List.of("FAILED", "CANCELLED")) {
        if (states.containsKey(bad)) {
          throw new AssertionError(states + "; " + failures());
        }
      }
      return states.getOrDefault("COMPLETED", 0) == ids.size();
    });
  }

  private String failures() throws SQLException {
    StringBuilder out = new StringBuilder();
    try (Connection c = DriverManager.getConnection(sideUrl, "postgres", ""); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT id, error FROM torpor_workflow WHERE state = 'FAILED' LIMIT 5")) {
      while (rs.next()) {
        out.append(rs.getString(1)).append(": ").append(rs.getString(2)).append("\n");
      }
    }
    return out.toString();
  }

  private int ownedRunning(String worker) throws SQLException {
    return ownedIds(worker).size();
  }

  private Set<String> ownedIds(String worker) throws SQLException {
    Set<String> out = new HashSet<>();
    try (Connection c = DriverManager.getConnection(sideUrl, "postgres", "");
        var ps = c.prepareStatement("SELECT id FROM torpor_workflow WHERE state = 'RUNNING' AND owner LIKE ?")) {
      ps.setString(1, worker + "@%");
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(rs.getString(1));
        }
      }
    }
    return out;
  }

  private Map<String, Map<String, Integer>> ledger() throws SQLException {
    Map<String, Map<String, Integer>> out = new HashMap<>();
    try (Connection c = DriverManager.getConnection(sideUrl, "postgres", ""); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT workflow_id, step, runs FROM ledger ORDER BY workflow_id, step")) {
      while (rs.next()) {
        out.computeIfAbsent(rs.getString(1), k -> new LinkedHashMap<>()).put(rs.getString(2), rs.getInt(3));
      }
    }
    return out;
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> out = new ArrayList<>(a);
    out.addAll(b);
    return out;
  }
}
