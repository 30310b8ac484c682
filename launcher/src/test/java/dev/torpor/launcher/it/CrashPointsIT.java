package dev.torpor.launcher.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.torpor.launcher.it.workflows.Gauntlet;
import dev.torpor.scheduler.CrashPoint;
import dev.torpor.scheduler.PostgresProcess;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Kills a real {@code torpor server} at every named {@link CrashPoint} (the process halts there,
 * as in a power cut), on the embedded H2 registry and on PostgreSQL, restarts it without the
 * switch, and checks that nothing was lost or done twice: the workflow completes, its log holds
 * each line once but for whole segments that a recorded recovery re-ran, its history is
 * consistent, each signal reached the run that completed exactly once, no workflow JVM outlives
 * the server that owned it, and no image outlives the retention (zero here).
 *
 * <p>One workflow per case ({@link Gauntlet}: a timer, a savepoint, a signal due on arrival, a
 * signal sent while it is frozen, a timer), so that {@code NAME:N} names one passage through a
 * point. One PostgreSQL server serves the whole class, with a fresh database per case.
 */
class CrashPointsIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String ID = "gauntlet";
  private static final String EARLY = "early-payload";
  private static final String GO = "go-payload";
  /** What the workflow prints, a line per step; a resumed run starts again at one of {@link #SEGMENT_STARTS}. */
  private static final List<String> EXPECTED = List.of("start", "timer", "saved", "early " + EARLY, "go " + GO,
      "done early=" + EARLY + " go=" + GO);
  /** Lines a run resumed from an image (or started over) prints first: after each wait, and "start". */
  private static final List<Integer> SEGMENT_STARTS = List.of(0, 1, 2, 3, 4, 5);
  private static final AtomicInteger DATABASES = new AtomicInteger();

  private static PostgresProcess postgres;

  @BeforeAll
  static void startPostgres() throws Exception {
    postgres = new PostgresProcess();
  }

  @AfterAll
  static void stopPostgres() throws IOException {
    if (postgres != null) {
      postgres.close();
    }
  }

  /**
   * Each case: the points armed in successive lives of the server ({@code NAME:N} = the N-th
   * passage in that life), and the database. Counts for one Gauntlet: dumps 1 timer, 2 savepoint,
   * 3 signal "go", 4 last timer; suspends 1 timer, 2 "go", 3 last timer; wakes (restores) 1 timer,
   * 2 "go", 3 last timer; signals 1 "early", 2 "go".
   */
  static Stream<Arguments> cases() {
    List<String> lives = List.of(
        "SUBMIT_COMMITTED",
        "DISPATCH_COMMITTED",
        "DUMPED:1",
        "DUMPED:2",
        "IMAGE_UPLOADED:1",
        "IMAGE_COMMITTED:1",
        "IMAGE_COMMITTED:2",
        "SUSPEND_COMMITTED:1",
        "SUSPEND_COMMITTED:2",
        "SUSPEND_RECORDED:1",
        "SAVEPOINT_RECORDED",
        "DUE_NOW_CLAIMED",
        "SIGNAL_COMMITTED:2",
        "WAKE_CLAIMED:1",
        "WAKE_CLAIMED:2",
        "RESTORED:2",
        "WAKE_DELIVERED:2",
        "EXIT_COMMITTED",
        "IMAGE_DELETED",
        "IMAGE_UNLISTED",
        "SHARED_RELEASED",
        "WAKE_DELIVERED:2,RECOVERY_COMMITTED");
    // -Dtorpor.crash.only=REGEX runs only the cases whose "POINTS on MODE" matches, when working on one;
    // -Dtorpor.crash.modes=h2,postgres,cluster adds the single server on PostgreSQL (its code paths are H2's).
    String only = System.getProperty("torpor.crash.only", ".*");
    List<String> modes = List.of(System.getProperty("torpor.crash.modes", "h2,cluster").split(","));
    return modes.stream().flatMap(mode -> lives.stream().filter(l -> (l + " on " + mode).matches(only))
        .map(l -> Arguments.of(l, mode)));
  }

  @ParameterizedTest(name = "{0} on {1}")
  @MethodSource("cases")
  void nothingIsLostOrDoneTwiceWhenTheServerDiesThere(String armed, String mode) throws Exception {
    String db = mode;
    List<String> args = new ArrayList<>(List.of("--image-retention", "0", "--image-gc-interval", "1s"));
    if (!mode.equals("h2")) {
      String url = postgres.createDatabase("crash_" + DATABASES.incrementAndGet());
      args.addAll(List.of("--db-url", url, "--db-user", "postgres"));
    }
    if (armed.contains("IMAGE_") || armed.contains("SHARED_")) {
      // The workflow's first image goes into a shared pack (only JVMs run without ASLR share chunks
      // across workflows), so that these points also prove the collection of shared packs.
      args.add("--no-aslr");
    }
    boolean cluster = mode.equals("cluster");
    if (cluster) {
      // The API server and a worker in one process, as one node of a cluster; its restart (same name) takes over at once.
      args.addAll(List.of("--cluster", "--name", "crash-node"));
    }
    long t0 = System.nanoTime();
    try (ServerProcess server = new ServerProcess(args.toArray(String[]::new))) {
      Driver driver = new Driver(server);
      List<String> lives = List.of(armed.split(","));
      List<String> report = new ArrayList<>();
      for (int life = 0; life < lives.size(); life++) {
        String point = lives.get(life);
        server.env(CrashPoint.ENV, point);
        if (server.startUnlessItDies()) {
          if (life == 0) {
            driver.upload();
          }
          driver.driveUntilTheServerDies(point);
        }
        String name = point.split(":")[0];
        assertThat(server.awaitExit(Duration.ofSeconds(10))).as("exit status of the server armed with " + point)
            .isEqualTo(CrashPoint.EXIT_STATUS);
        assertThat(server.serverErr()).as("the server died at " + point)
            .containsOnlyOnce("torpor: crash point " + name + " reached");
        List<Long> orphans = server.workflowProcesses();
        report.add(point + ": workflow JVMs alive after the kill " + orphans);
        driver.orphans.addAll(orphans);
        // Workflow JVMs die with their worker (parent-death signals): none runs on unsupervised, and
        // in a cluster another worker could otherwise run a copy.
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(100)).untilAsserted(() ->
            assertThat(server.workflowProcesses()).as("workflow JVMs 5 s after their worker died at " + point).isEmpty());
      }
      long died = System.nanoTime();
      server.withoutEnv(CrashPoint.ENV).start();
      List<Long> running = server.workflowProcesses();
      assertThat(driver.orphans.stream().filter(running::contains).toList())
          .as("workflow JVMs the dead server left, still alive after the restart").isEmpty();
      driver.driveUntilCompleted();
      long completed = System.nanoTime();

      JsonNode status = driver.view();
      assertThat(status.path("state").asText()).as(driver.diagnosis()).isEqualTo("COMPLETED");
      assertThat(status.path("exitCode").asInt(-1)).as(driver.diagnosis()).isZero();
      assertThat(status.path("pendingSignals").asInt(-1)).as("signals left in the mailbox; " + driver.diagnosis()).isZero();
      List<JsonNode> history = driver.history();
      checkHistory(history, driver.diagnosis());
      checkLog(driver.log(), count(history, "RECOVERED"), driver.diagnosis());

      await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(200))
          .untilAsserted(() -> assertThat(server.workflowProcesses()).as("workflow JVMs after completion").isEmpty());
      Path images = server.data.resolve("store/images").resolve(ID);
      await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(250))
          .untilAsserted(() -> assertThat(files(images)).as("images of the completed workflow past a retention of 0"
              + " (gc every 1 s); " + driver.diagnosis()).isEmpty());
      // Its first image was written into a shared pack, which goes once no workflow refers to it.
      await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(250))
          .untilAsserted(() -> assertThat(files(server.data.resolve("store/shared"))).as("shared packs and references"
              + " left after the completed workflow's images were collected; " + driver.diagnosis()).isEmpty());
      List<String> temps = files(server.data.resolve("store/.tmp"));
      if (!temps.isEmpty()) {
        report.add("upload temp files left in the store " + temps);
      }
      server.kill9(); // done with it: no need to wait for a graceful stop
      report.add(String.format("%.1f s to the crash(es), %.1f s from the restart to COMPLETED, %.1f s in all",
          (died - t0) / 1e9, (completed - died) / 1e9, (System.nanoTime() - t0) / 1e9));
      report.add("history " + history.stream().map(e -> e.path("type").asText() + "@" + e.path("seq").asText())
          .collect(java.util.stream.Collectors.joining(" ")));
      System.out.println("crash-points " + armed + " on " + db + ": " + String.join("; ", report));
    }
  }

  @org.junit.jupiter.api.Test
  void aMalformedSwitchStopsTheServerAtStartSayingWhatIsAllowed() throws Exception {
    try (ServerProcess server = new ServerProcess()) {
      ServerProcess.Result r = server.env(CrashPoint.ENV, "DUMPED:0").startRefused();
      assertThat(r.exitCode()).isEqualTo(2);
      assertThat(r.err()).contains("TORPOR_CRASH_POINT=DUMPED:0 is not valid (N must be a whole number from 1")
          .contains("a switch for tests").contains("IMAGE_COMMITTED");
      assertThat(server.env(CrashPoint.ENV, "NO_SUCH_POINT").startRefused().err()).contains("'NO_SUCH_POINT' is no crash point");
    }
  }

  /** Seqs never go back; each image is recorded once; one RESUMED per wake that completed; one outcome. */
  private static void checkHistory(List<JsonNode> history, String diagnosis) {
    long seq = 0;
    Map<String, Integer> perSeq = new HashMap<>();
    for (JsonNode e : history) {
      String type = e.path("type").asText();
      long s = e.path("seq").asLong();
      boolean startsOver = type.equals("STARTED") || type.equals("PROCESS_STARTED");
      if (!startsOver) {
        assertThat(s).as("seq of " + type + " (event " + e.path("n") + ") goes back from " + seq + "; " + diagnosis)
            .isGreaterThanOrEqualTo(seq);
        seq = s;
      }
      perSeq.merge(type + "@" + s, 1, Integer::sum);
    }
    for (Map.Entry<String, Integer> c : perSeq.entrySet()) {
      String type = c.getKey().split("@")[0];
      long s = Long.parseLong(c.getKey().split("@")[1]);
      if (type.equals("SUSPENDED") || type.equals("CHECKPOINTED")) {
        assertThat(c.getValue()).as(c.getKey() + " recorded more than once; " + diagnosis).isEqualTo(1);
      }
      if (type.equals("SUSPENDED")) {
        int resumed = perSeq.getOrDefault("RESUMED@" + s, 0);
        int recovered = perSeq.getOrDefault("RECOVERED@" + s, 0);
        assertThat(resumed).as("RESUMED of image " + s + " (one per completed wake, one more per recovery from it); "
            + diagnosis).isBetween(1, 1 + recovered);
        assertThat(resumed).as("RESUMED of image " + s + " without as many WAKING; " + diagnosis)
            .isLessThanOrEqualTo(perSeq.getOrDefault("WAKING@" + s, 0));
      }
    }
    assertThat(count(history, "SUBMITTED")).as("SUBMITTED; " + diagnosis).isEqualTo(1);
    long startedOver = history.stream().filter(e -> e.path("type").asText().equals("RECOVERED")
        && e.path("details").path("from").asText().startsWith("the start")).count();
    assertThat(count(history, "STARTED")).as("dispatches (STARTED), one more per recovery from the start; " + diagnosis)
        .isEqualTo(1 + startedOver);
    assertThat(count(history, "SIGNAL_RECEIVED")).as("signals received (two sent, once each); " + diagnosis).isEqualTo(2);
    assertThat(count(history, "COMPLETED")).as("COMPLETED; " + diagnosis).isEqualTo(1);
    assertThat(count(history, "FAILED")).as("FAILED; " + diagnosis).isZero();
    assertThat(history.get(history.size() - 1).path("type").asText()).as("the last event; " + diagnosis)
        .isEqualTo("COMPLETED");
  }

  /**
   * Every line once, in order, except that a run resumed from an image after a crash prints the
   * lines of its segment again: the log may jump back to the start of a segment, at most once per
   * RECOVERED in the history.
   */
  private static void checkLog(String log, long recoveries, String diagnosis) {
    List<String> lines = log.lines().toList();
    int next = 0;
    int reruns = 0;
    for (String line : lines) {
      if (next < EXPECTED.size() && line.equals(EXPECTED.get(next))) {
        next++;
        continue;
      }
      int back = EXPECTED.indexOf(line);
      assertThat(back >= 0 && back < next && SEGMENT_STARTS.contains(back))
          .as("log line '" + line + "' where '" + (next < EXPECTED.size() ? EXPECTED.get(next) : "(the end)")
              + "' was due; log:\n" + log + "\n" + diagnosis).isTrue();
      next = back + 1;
      reruns++;
    }
    assertThat(next).as("lines printed; log:\n" + log + "\n" + diagnosis).isEqualTo(EXPECTED.size());
    assertThat(reruns).as("segments printed twice, at most one per recovery; log:\n" + log + "\n" + diagnosis)
        .isLessThanOrEqualTo((int) recoveries);
    assertThat(log.lines().filter(l -> l.startsWith("done ")).count()).as("the final line; log:\n" + log).isEqualTo(1);
  }

  private static long count(List<JsonNode> history, String type) {
    return history.stream().filter(e -> e.path("type").asText().equals(type)).count();
  }

  private static List<String> files(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      return walk.filter(Files::isRegularFile).map(p -> dir.relativize(p).toString()).sorted().toList();
    }
  }

  /**
   * A client that submits the workflow, sends "early" at once and "go" once the workflow is frozen
   * waiting for it, as a user would: a request the server died in the middle of may or may not
   * have been committed, so after a restart the driver looks (the history) before it sends again.
   */
  private static final class Driver {
    final ServerProcess server;
    final List<Long> orphans = new ArrayList<>();
    String app;
    boolean submitted;
    boolean earlySent;
    boolean goSent;
    /** When the workflow was seen finished while the armed server lived (nanoTime), or -1. */
    long finished = -1;

    Driver(ServerProcess server) {
      this.server = server;
    }

    void upload() throws IOException, InterruptedException {
      Path jar = ServerProcess.workflowJar(server.base);
      HttpResponse<String> r = server.post("/v1/apps", "application/java-archive", Files.readAllBytes(jar));
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      app = JSON.readTree(r.body()).get("sha256").asText();
    }

    /** Works the workflow until the server process is gone (it must die within 60 s). */
    void driveUntilTheServerDies(String point) throws Exception {
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (server.alive()) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError("the server armed with " + point + " did not die within 60 s; " + diagnosis());
        }
        try {
          if (finished < 0 && step()) {
            finished = System.nanoTime(); // the image collector runs on after the workflow (IMAGE_DELETED)
          }
        } catch (IOException e) {
          // the server died in the middle of a request: reconciled after the restart
        }
        if (finished >= 0 && System.nanoTime() - finished > Duration.ofSeconds(10).toNanos() && server.alive()) {
          throw new AssertionError("the workflow completed 10 s ago and the server armed with " + point + " is still"
              + " alive: the point was not reached; " + diagnosis());
        }
        Thread.sleep(50);
      }
    }

    /** After the restart: finds out what the dead server committed, then works the workflow to its end. */
    void driveUntilCompleted() throws Exception {
      if (!submitted && app != null) {
        submitted = hasWorkflow();
      }
      earlySent = earlySent || received("early");
      goSent = goSent || received("go");
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (!step()) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError("the workflow did not complete within 60 s of the restart; " + diagnosis());
        }
        Thread.sleep(100);
      }
    }

    /** One round of the client's work; true once the workflow has finished. */
    boolean step() throws Exception {
      if (!submitted) {
        String body = JSON.writeValueAsString(Map.of("id", ID, "app", app, "main", Gauntlet.class.getName(),
            "args", List.of("500")));
        HttpResponse<String> r = server.post("/v1/workflows", "application/json", body.getBytes(StandardCharsets.UTF_8));
        assertThat(r.statusCode()).as(r.body()).isIn(200, 201);
        submitted = true;
      }
      if (!earlySent) {
        signal("early", EARLY);
        earlySent = true;
      }
      JsonNode v = view();
      if (!goSent && v.path("state").asText().equals("SUSPENDED") && v.path("waitSignal").asText().equals("go")) {
        signal("go", GO);
        goSent = true;
      }
      String state = v.path("state").asText();
      return state.equals("COMPLETED") || state.equals("FAILED") || state.equals("CANCELLED");
    }

    private void signal(String name, String payload) throws IOException, InterruptedException {
      HttpResponse<String> r = server.post("/v1/workflows/" + ID + "/signals/" + name, "application/octet-stream",
          payload.getBytes(StandardCharsets.UTF_8));
      assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
    }

    private boolean hasWorkflow() throws IOException, InterruptedException {
      return server.get("/v1/workflows/" + ID).statusCode() == 200;
    }

    private boolean received(String signal) throws Exception {
      return hasWorkflow() && history().stream().anyMatch(e -> e.path("type").asText().equals("SIGNAL_RECEIVED")
          && e.path("details").path("signal").asText().equals(signal));
    }

    JsonNode view() throws Exception {
      return JSON.readTree(server.get("/v1/workflows/" + ID).body());
    }

    List<JsonNode> history() throws Exception {
      List<JsonNode> out = new ArrayList<>();
      JSON.readTree(server.get("/v1/workflows/" + ID + "/history").body()).forEach(out::add);
      return out;
    }

    String log() throws Exception {
      return new String(server.getBytes("/v1/workflows/" + ID + "/logs"), StandardCharsets.UTF_8);
    }

    /** The workflow's status, history and log as they are now, for a failure's message. */
    String diagnosis() {
      try {
        StringBuilder b = new StringBuilder("status: ").append(server.get("/v1/workflows/" + ID).body()).append("\nhistory:\n");
        for (JsonNode e : history()) {
          b.append("  ").append(e.path("n")).append(' ').append(e.path("type").asText()).append(" seq=")
              .append(e.path("seq")).append(' ').append(e.path("details")).append('\n');
        }
        b.append("log:\n").append(log()).append("server stderr (tail):\n");
        String err = server.serverErr();
        return b.append(err.substring(Math.max(0, err.length() - 3000))).toString();
      } catch (Exception e) {
        return "(the server did not answer: " + e + "; its stderr: " + server.serverErr() + ")";
      }
    }
  }
}
