package dev.torpor.launcher.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.torpor.launcher.it.workflows.Busy;
import dev.torpor.launcher.it.workflows.Sleeper;
import dev.torpor.launcher.it.workflows.TimersAndSignal;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** kill -9 of the server with workflows suspended, timers falling due, and one running. */
class ServerRecoveryIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void everyWorkflowCompletesAfterKill9AndRestart() throws Exception {
    try (ServerProcess server = new ServerProcess()) {
      server.start();
      Path jar = ServerProcess.workflowJar(server.data);
      List<String> sleepers = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        String id = "due-while-down-" + i;
        assertThat(server.cli("submit", "--jar", jar.toString(), "--main", Sleeper.class.getName(), "--id", id,
            "--", "15").exitCode()).isZero();
        sleepers.add(id);
      }
      assertThat(server.cli("submit", "--jar", jar.toString(), "--main", TimersAndSignal.class.getName(),
          "--id", "waits-for-go", "--", "300").exitCode()).isZero();
      assertThat(server.cli("submit", "--jar", jar.toString(), "--main", Busy.class.getName(),
          "--id", "running-at-crash").exitCode()).isZero();
      await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(250)).until(() ->
          allIn(server, sleepers, "SUSPENDED")
              && "SIGNAL".equals(view(server, "waits-for-go").path("waitKind").asText())
              && server.get("/v1/workflows/running-at-crash/logs").body().contains("tick 2"));
      Instant due = Instant.parse(json(server, "status", sleepers.get(0)).get("wakeAt").asText());

      server.kill9();
      assertThat(server.healthy()).isFalse();
      // Stay down until the timers have fallen due.
      await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
          .until(() -> Instant.now().isAfter(due.plusSeconds(1)));
      server.start();
      Instant restarted = Instant.now();

      for (String id : sleepers) {
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
            .until(() -> state(server, id).equals("COMPLETED"));
        assertThat(server.cli("logs", id).out()).isEqualTo("sleeping 15 s\nwoke\n");
      }
      assertThat(Duration.between(restarted, Instant.now())).as("timers that fell due fire right after start")
          .isLessThan(Duration.ofSeconds(30));

      assertThat(server.cli("signal", "waits-for-go", "go", "after-restart").exitCode()).isZero();
      await().atMost(Duration.ofSeconds(60)).until(() -> state(server, "waits-for-go").equals("COMPLETED"));
      String log = server.cli("logs", "waits-for-go").out();
      assertThat(log.lines().filter(l -> l.startsWith("signal after-restart")).count()).isEqualTo(1);

      // The running workflow had no image: it starts over, once, and keeps running.
      await().atMost(Duration.ofSeconds(60)).until(() -> state(server, "running-at-crash").equals("RUNNING")
          && server.cli("history", "running-at-crash").out().contains("RECOVERED"));
      assertThat(server.cli("cancel", "running-at-crash").exitCode()).isZero();
      await().atMost(Duration.ofSeconds(30)).until(() -> !server.anyWorkflowProcess());
    }
  }

  /**
   * Issue #13, short waits: a wait due within --min-checkpoint-wait is held in memory by choice,
   * recorded as such (no checkpoint, no image); a kill -9 meanwhile loses nothing: the workflow
   * runs again from its last image (here, from the start) and completes.
   */
  @Test
  void aShortWaitIsHeldInMemoryAndAKill9MeanwhileLosesNothing() throws Exception {
    try (ServerProcess server = new ServerProcess("--min-checkpoint-wait", "60s")) {
      server.start();
      Path jar = ServerProcess.workflowJar(server.data);
      assertThat(server.cli("submit", "--jar", jar.toString(), "--main", Sleeper.class.getName(), "--id", "short",
          "--", "5").exitCode()).isZero();
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
          .until(() -> server.get("/v1/workflows/short/history").body().contains("WAITING_IN_MEMORY"));
      String history = server.get("/v1/workflows/short/history").body();
      assertThat(history).contains("held in memory, not checkpointed").doesNotContain("\"SUSPENDED\"")
          .doesNotContain("CHECKPOINT_FAILED");
      assertThat(server.anyWorkflowProcess()).as("the JVM holds the wait").isTrue();

      server.kill9();
      server.start();
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
          .until(() -> state(server, "short").equals("COMPLETED"));
      assertThat(server.cli("history", "short").out()).contains("RECOVERED");
      assertThat(server.cli("logs", "short").out()).endsWith("sleeping 5 s\nwoke\n").doesNotContain("checkpoint");
    }
  }

  private static boolean allIn(ServerProcess server, List<String> ids, String state) throws Exception {
    for (String id : ids) {
      if (!state(server, id).equals(state)) {
        return false;
      }
    }
    return true;
  }

  private static String state(ServerProcess server, String id) throws Exception {
    return view(server, id).get("state").asText();
  }

  /** The workflow's status straight from the HTTP API (cheaper than a CLI process per poll). */
  private static JsonNode view(ServerProcess server, String id) throws Exception {
    return JSON.readTree(server.get("/v1/workflows/" + id).body());
  }

  private static JsonNode json(ServerProcess server, String... args) throws Exception {
    List<String> a = new ArrayList<>(List.of(args));
    a.addAll(List.of("--output", "json"));
    ServerProcess.Result r = server.cli(a.toArray(String[]::new));
    assertThat(r.exitCode()).as(r.err()).isZero();
    return JSON.readTree(r.out());
  }
}
