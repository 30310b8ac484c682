package dev.torpor.launcher.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.torpor.launcher.it.workflows.TimersAndSignal;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * 200 workflows at once, each waiting twice on a timer and once on a signal, through the HTTP
 * API of one embedded server (at most 8 JVMs alive at a time): all complete, none is lost,
 * none runs a segment twice, and the server's memory stays bounded.
 */
class ServerLoadIT {
  private static final int WORKFLOWS = 200;
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void twoHundredWorkflowsCompleteExactlyOnce() throws Exception {
    try (ServerProcess server = new ServerProcess("--quiet")) {
      server.start();
      Path jar = ServerProcess.workflowJar(server.data);
      HttpResponse<String> app = server.post("/v1/apps", "application/java-archive", Files.readAllBytes(jar));
      assertThat(app.statusCode()).as(app.body()).isEqualTo(200);
      String sha = JSON.readTree(app.body()).get("sha256").asText();

      List<String> ids = new ArrayList<>();
      for (int i = 0; i < WORKFLOWS; i++) {
        String id = "load-" + i;
        String body = "{\"id\":\"" + id + "\",\"app\":\"" + sha + "\",\"main\":\"" + TimersAndSignal.class.getName()
            + "\",\"args\":[\"1000\"]}";
        HttpResponse<String> r = server.post("/v1/workflows", "application/json", body.getBytes(StandardCharsets.UTF_8));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        ids.add(id);
      }
      long[] peakRss = {0};
      List<String> signalled = new ArrayList<>();
      // One bounded poll: signal each workflow once it waits for "go", until all have completed.
      await().atMost(Duration.ofMinutes(25)).pollInterval(Duration.ofMillis(500)).until(() -> {
        Map<String, String> states = states(server);
        for (String id : ids) {
          if (!signalled.contains(id) && "SUSPENDED".equals(states.get(id + "#wait"))) {
            HttpResponse<String> s = server.post("/v1/workflows/" + id + "/signals/go", "application/octet-stream",
                id.getBytes(StandardCharsets.UTF_8));
            assertThat(s.statusCode()).as(s.body()).isEqualTo(202);
            signalled.add(id);
          }
        }
        peakRss[0] = Math.max(peakRss[0], rssKb(server.pid()));
        assertThat(ids.stream().filter(id -> "FAILED".equals(states.get(id))).toList()).as("failed workflows").isEmpty();
        return ids.stream().allMatch(id -> "COMPLETED".equals(states.get(id)));
      });
      Map<String, String> states = states(server);
      assertThat(ids.stream().filter(id -> !"COMPLETED".equals(states.get(id))).toList()).as("not completed").isEmpty();

      for (String id : ids) {
        JsonNode history = JSON.readTree(server.get("/v1/workflows/" + id + "/history").body());
        Map<String, Integer> counts = new HashMap<>();
        history.forEach(e -> counts.merge(e.get("type").asText(), 1, Integer::sum));
        // A 1 s timer can fall due before a loaded worker gets to the dump: the JVM then carries on
        // in memory and the history records that wake as due on arrival instead of a SUSPENDED.
        long dueOnArrival = 0;
        for (JsonNode e : history) {
          if (e.path("details").path("dueOnArrival").asBoolean(false)) {
            dueOnArrival++;
          }
        }
        assertThat(counts).as(id + " history " + counts)
            .containsEntry("SUBMITTED", 1).containsEntry("STARTED", 1).containsEntry("PROCESS_STARTED", 1)
            .containsEntry("WAKING", 3).containsEntry("RESUMED", 3).containsEntry("COMPLETED", 1)
            .doesNotContainKey("RECOVERED").doesNotContainKey("RESTORE_FAILED");
        assertThat(counts.getOrDefault("SUSPENDED", 0) + dueOnArrival).as(id + " suspends + waits due on arrival").isEqualTo(3);
        assertThat(counts.get("SUSPENDED")).as(id + ": the signal wait always freezes").isGreaterThanOrEqualTo(1);
        String log = new String(server.getBytes("/v1/workflows/" + id + "/logs?offset=0&max=100000"), StandardCharsets.UTF_8);
        List<String> lines = log.lines().toList();
        assertThat(lines).as(id + " log").hasSize(4);
        String identity = lines.get(0).substring("start ".length());
        assertThat(lines).containsExactly("start " + identity, "timer 1 " + identity, "timer 2 " + identity,
            "signal " + id + " " + identity);
      }
      assertThat(peakRss[0]).as("server RSS in kB").isLessThan(600_000L);
      System.out.println("ServerLoadIT: " + WORKFLOWS + " workflows, server peak RSS " + peakRss[0] / 1024 + " MB");
    }
  }

  private static Map<String, String> states(ServerProcess server) throws Exception {
    JsonNode list = JSON.readTree(server.get("/v1/workflows?limit=1000").body());
    Map<String, String> m = new HashMap<>();
    for (JsonNode w : list) {
      String id = w.get("id").asText();
      m.put(id, w.get("state").asText());
      if ("SUSPENDED".equals(w.get("state").asText()) && "SIGNAL".equals(w.path("waitKind").asText())) {
        m.put(id + "#wait", "SUSPENDED");
      }
    }
    return m;
  }

  private static long rssKb(long pid) throws Exception {
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("\\D", ""));
      }
    }
    return 0;
  }

}
