package dev.torpor.launcher.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.torpor.launcher.it.ServerProcess.Result;
import dev.torpor.launcher.it.workflows.Busy;
import dev.torpor.launcher.it.workflows.Sleeper;
import dev.torpor.launcher.it.workflows.TwoSameSignals;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code torpor server} and the CLI, as a user runs them: real processes, real CRIU, embedded H2. */
class ServerIT {
  private static ServerProcess server;
  private static Path examples;
  private static Path workflows;

  @BeforeAll
  static void startServer() throws Exception {
    server = new ServerProcess().start();
    examples = Path.of(System.getProperty("torpor.examples.jar"));
    workflows = ServerProcess.workflowJar(server.data);
  }

  @AfterAll
  static void stopServer() throws Exception {
    server.close();
  }

  @Test
  void timerWorkflowSuspendsWithNoProcessAndCompletes() throws Exception {
    Result submit = server.cli("submit", "--jar", examples.toString(), "--main", "dev.torpor.examples.ProTrial",
        "--id", "trial-timer", "--", "alice", "3", "1");
    assertThat(submit.exitCode()).as(submit.err()).isZero();
    assertThat(submit.out().strip()).isEqualTo("trial-timer");

    awaitStatus("trial-timer", "SUSPENDED");
    Result status = server.cli("status", "trial-timer", "--output", "json");
    assertThat(status.out()).contains("\"waitKind\" : \"TIMER\"").contains("\"seq\" : 1");
    assertThat(server.anyWorkflowProcess()).as("no process while suspended").isFalse();

    awaitStatus("trial-timer", "COMPLETED");
    String log = server.cli("logs", "trial-timer").out();
    assertThat(log).contains("billing: granted pro to alice").contains("billing: revoked pro from alice")
        .contains("trial of alice done");
  }

  /** Issue #16: /metrics during a real workflow run, behind the API's token. */
  @Test
  void metricsMoveAsAWorkflowSuspendsResumesAndCompletes() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    HttpResponse<String> anonymous = http.send(HttpRequest.newBuilder(java.net.URI.create(server.url() + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(anonymous.statusCode()).as("no token, no metrics").isEqualTo(401);

    Map<String, Double> before = metrics(http);
    assertThat(server.cli("submit", "--jar", examples.toString(), "--main", "dev.torpor.examples.ProTrial",
        "--id", "trial-metrics", "--", "dora", "2", "1").exitCode()).isZero();
    awaitStatus("trial-metrics", "SUSPENDED");
    Map<String, Double> during = metrics(http);
    assertThat(during.get("torpor_workflows{state=\"suspended\"}")).as("suspended gauge").isGreaterThanOrEqualTo(1.0);
    assertThat(delta(before, during, "torpor_workflows_submitted_total")).isGreaterThanOrEqualTo(1.0);
    assertThat(delta(before, during, "torpor_workflows_started_total")).isGreaterThanOrEqualTo(1.0);
    assertThat(delta(before, during, "torpor_checkpoint_seconds_count")).isGreaterThanOrEqualTo(1.0);
    assertThat(delta(before, during, "torpor_checkpoint_seconds_sum")).as("seconds, not ms").isBetween(0.001, 60.0);
    assertThat(delta(before, during, "torpor_image_raw_bytes_sum")).as("a JVM's image").isGreaterThan(10e6);
    assertThat(delta(before, during, "torpor_checkpoint_phase_seconds_count{phase=\"dump\"}")).isGreaterThanOrEqualTo(1.0);
    assertThat(delta(before, during, "torpor_store_seconds_count{op=\"upload\"}")).isGreaterThanOrEqualTo(1.0);

    awaitStatus("trial-metrics", "COMPLETED");
    Map<String, Double> after = metrics(http);
    assertThat(delta(before, after, "torpor_workflows_completed_total")).isGreaterThanOrEqualTo(1.0);
    assertThat(delta(before, after, "torpor_restore_seconds_count")).as("the trial's timer, then the grace's deadline")
        .isGreaterThanOrEqualTo(2.0);
    assertThat(delta(before, after, "torpor_timer_lag_seconds_count")).isGreaterThanOrEqualTo(2.0);
    assertThat(delta(before, after, "torpor_timer_lag_seconds_sum") / delta(before, after, "torpor_timer_lag_seconds_count"))
        .as("mean timer lag, s").isBetween(0.0, 30.0);
    assertThat(after).containsKey("torpor_worker_slots_available");
    assertThat(after.keySet()).as("no workflow ids as labels").noneMatch(k -> k.contains("trial-metrics"));
  }

  private static Map<String, Double> metrics(HttpClient http) throws Exception {
    HttpResponse<String> r = http.send(server.request("/metrics").build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
    return ServerProcess.parseMetrics(r.body());
  }

  private static double delta(Map<String, Double> before, Map<String, Double> after, String key) {
    assertThat(after).as("metric " + key).containsKey(key);
    return after.get(key) - before.getOrDefault(key, 0.0);
  }

  @Test
  void signalWorkflowSeesThePayload() throws Exception {
    assertThat(server.cli("submit", "--jar", examples.toString(), "--main", "dev.torpor.examples.ProTrial",
        "--id", "trial-signal", "--", "bob", "1", "600").exitCode()).isZero();
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
        .until(() -> server.cli("status", "trial-signal").out().contains("waiting on:      signal 'upgrade'"));

    Result signal = server.cli("signal", "trial-signal", "upgrade", "annual");
    assertThat(signal.exitCode()).as(signal.err()).isZero();

    awaitStatus("trial-signal", "COMPLETED");
    assertThat(server.cli("logs", "trial-signal").out()).contains("upgrade received: annual")
        .doesNotContain("revoked");
    String history = server.cli("history", "trial-signal").out();
    assertThat(history).contains("SIGNAL_RECEIVED").contains("reason=SIGNAL").contains("COMPLETED");
  }

  @Test
  void signalsSentBeforeTheWaitAreDeliveredInOrder() throws Exception {
    assertThat(server.cli("submit", "--jar", workflows.toString(), "--main", TwoSameSignals.class.getName(),
        "--id", "two-steps").exitCode()).isZero();
    assertThat(server.cli("signal", "two-steps", "step", "one").exitCode()).isZero();
    assertThat(server.cli("signal", "two-steps", "step", "two").exitCode()).isZero();

    awaitStatus("two-steps", "COMPLETED");
    assertThat(server.cli("logs", "two-steps").out()).isEqualTo("first: one\nsecond: two\n");
  }

  @Test
  void signalsToFinishedOrUnknownWorkflowsAreRejected() throws Exception {
    assertThat(server.cli("submit", "--jar", workflows.toString(), "--main", Sleeper.class.getName(),
        "--id", "short-sleeper", "--", "1").exitCode()).isZero();
    awaitStatus("short-sleeper", "COMPLETED");

    Result finished = server.cli("signal", "short-sleeper", "x", "late");
    assertThat(finished.exitCode()).isEqualTo(4);
    assertThat(finished.err()).contains("has finished");
    Result unknown = server.cli("signal", "no-such-workflow", "x", "y");
    assertThat(unknown.exitCode()).isEqualTo(3);
    assertThat(unknown.err()).contains("no workflow with id no-such-workflow");
  }

  @Test
  void cancelStopsSuspendedAndRunningWorkflowsAndWakeFiresATimerNow() throws Exception {
    assertThat(server.cli("submit", "--jar", workflows.toString(), "--main", Sleeper.class.getName(),
        "--id", "sleeper-cancel").exitCode()).isZero();
    assertThat(server.cli("submit", "--jar", workflows.toString(), "--main", Busy.class.getName(),
        "--id", "busy-cancel").exitCode()).isZero();
    assertThat(server.cli("submit", "--jar", workflows.toString(), "--main", Sleeper.class.getName(),
        "--id", "sleeper-wake").exitCode()).isZero();
    awaitStatus("sleeper-cancel", "SUSPENDED");
    awaitStatus("sleeper-wake", "SUSPENDED");
    await().atMost(Duration.ofSeconds(60)).until(() -> server.cli("logs", "busy-cancel").out().contains("tick 3"));

    assertThat(server.cli("cancel", "sleeper-cancel").exitCode()).isZero();
    assertThat(server.cli("cancel", "busy-cancel").exitCode()).isZero();
    Result wake = server.cli("wake", "sleeper-wake");
    assertThat(wake.exitCode()).as(wake.err()).isZero();

    awaitStatus("sleeper-cancel", "CANCELLED");
    awaitStatus("busy-cancel", "CANCELLED");
    awaitStatus("sleeper-wake", "COMPLETED");
    assertThat(server.cli("logs", "sleeper-wake").out()).contains("woke");
    assertThat(server.cli("history", "sleeper-wake").out()).contains("reason=OPERATOR");
    await().atMost(Duration.ofSeconds(30)).until(() -> !server.anyWorkflowProcess() || !busyAlive());
    Result again = server.cli("cancel", "busy-cancel");
    assertThat(again.exitCode()).isEqualTo(4);
    Result wakeRunning = server.cli("wake", "busy-cancel");
    assertThat(wakeRunning.exitCode()).isEqualTo(4);
  }

  @Test
  void badInputIsRejectedClearlyAndChangesNothing() throws Exception {
    String before = server.cli("list", "--output", "json").out();
    for (String id : new String[] {"a/b", "..", "has space", "x".repeat(129)}) {
      Result r = server.cli("submit", "--jar", workflows.toString(), "--main", Sleeper.class.getName(), "--id", id);
      assertThat(r.exitCode()).as("id '" + id + "': " + r.err()).isEqualTo(2);
      assertThat(r.err()).contains("invalid workflow id");
    }
    Path big = server.data.resolve("big.bin");
    Files.write(big, new byte[(1 << 20) + 1]);
    Result tooBig = server.cli("signal", "short-or-not", "x", "@" + big);
    assertThat(tooBig.exitCode()).isEqualTo(2);
    assertThat(tooBig.err()).contains("1 MiB");
    Result missingJar = server.cli("submit", "--jar", "/no/such/app.jar", "--main", "com.acme.Main");
    assertThat(missingJar.exitCode()).isEqualTo(2);
    assertThat(missingJar.err()).contains("/no/such/app.jar");
    Result noMain = server.cli("submit", "--jar", workflows.toString(), "--main", "com.acme.Nope");
    assertThat(noMain.exitCode()).isEqualTo(2);
    assertThat(noMain.err()).contains("com.acme.Nope");
    HttpResponse<String> malformed = server.post("/v1/workflows", "application/json",
        "{\"app\": \"abc\", \"main\": ".getBytes(StandardCharsets.UTF_8));
    assertThat(malformed.statusCode()).isEqualTo(400);
    assertThat(malformed.body()).contains("error");
    assertThat(server.cli("list", "--output", "json").out()).as("nothing was created").isEqualTo(before);
  }

  @Test
  void theCliSaysWhenNoServerRunsAndHowToStartOne() throws Exception {
    int port = ServerProcess.freePort();
    Result r = server.cliBare("list", "--server", "http://127.0.0.1:" + port);
    assertThat(r.exitCode()).isEqualTo(5);
    assertThat(r.err()).contains("no Torpor server at http://127.0.0.1:" + port).contains("torpor server");
  }

  @Test
  void theApiWantsTlsOffLoopbackAndItsTokenEverywhere() throws Exception {
    int port = ServerProcess.freePort();
    Result refused = server.cliBare("server", "--data", server.base.resolve("other").toString(),
        "--run-dir", server.base.resolve("orun").toString(), "--listen", "0.0.0.0:" + port);
    assertThat(refused.exitCode()).isEqualTo(2);
    assertThat(refused.err()).contains("in clear").contains("--tls-cert");

    // On loopback the token is required all the same; the CLI, as root here, finds it in <data>/api-token.
    HttpResponse<String> none = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(java.net.URI.create(server.url() + "/v1/workflows")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(none.statusCode()).isEqualTo(401);
    Result wrong = server.exec(List.of(ServerProcess.java(), "-jar", ServerProcess.cliJar(), "list", "--server", server.url()),
        Map.of("TORPOR_TOKEN", "not-the-token"));
    assertThat(wrong.exitCode()).as(wrong.err()).isEqualTo(6);
    assertThat(wrong.err()).contains("refused the API token from TORPOR_TOKEN");
    assertThat(server.cli("list").exitCode()).isZero();
    assertThat(server.tokenFile()).satisfies(f -> assertThat(Files.getPosixFilePermissions(f))
        .isEqualTo(java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
  }

  private static boolean busyAlive() throws Exception {
    return server.cli("status", "busy-cancel").out().contains("RUNNING");
  }

  private static void awaitStatus(String id, String state) {
    await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(250)).until(() -> {
      Result r = server.cli("status", id);
      if (r.out().contains("state:           FAILED") && !state.equals("FAILED")) {
        throw new AssertionError(id + " failed: " + r.out() + server.cli("logs", id).out());
      }
      return r.out().contains("state:           " + state);
    });
  }
}
