package dev.torpor.launcher.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.torpor.launcher.it.workflows.ManyWaits;
import dev.torpor.launcher.it.workflows.MixedWaits;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Many waits at once in one workflow JVM, on a real server with real CRIU: each wait set is one
 * checkpoint, each wake releases exactly the waits it satisfies, and the JVM is frozen again with
 * the rest. One server serves every test here.
 */
class ConcurrentWaitsIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern GOT = Pattern.compile("thread (\\d+) got (\\S+) after (-?\\d+) ms");
  private static ServerProcess server;
  private static Path jar;

  @BeforeAll
  static void startServer() throws Exception {
    server = new ServerProcess().start();
    jar = ServerProcess.workflowJar(server.data);
  }

  @AfterAll
  static void stopServer() throws Exception {
    server.close();
  }

  @Test
  void twentyThreadsEachReleasedByItsOwnSignalInRandomOrderWithNoProcessBetween() throws Exception {
    String id = "twenty-waits";
    submit(id, ManyWaits.class, "20");
    awaitSuspendedWith(id, 20);
    JsonNode v = view(id);
    assertThat(v.get("waits")).hasSize(20);
    for (JsonNode w : v.get("waits")) {
      assertThat(w.get("kind").asText()).isEqualTo("SIGNAL");
      assertThat(w.get("stack").asText()).as("each wait lists its thread's stack")
          .contains("\"waiter-").contains("dev.torpor.Durable.awaitSignal").contains("ManyWaits");
    }
    assertThat(suspensions(id)).as("waits that begin together make one checkpoint, not twenty").isEqualTo(1);
    JsonNode first = firstSuspension(id);
    assertThat(first.path("details").path("waits").asInt()).isEqualTo(20);
    System.out.println("ConcurrentWaitsIT: 20 threads started in a loop: their waits were gathered into one checkpoint in "
        + first.path("details").path("gatherMillis").asDouble() + " ms");
    String status = server.cli("status", id).out();
    assertThat(status).contains("20 waits (20 on signals, 0 on timers)").contains("wait 20: signal 'sig-").contains("\"waiter-");

    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      order.add(i);
    }
    Collections.shuffle(order, new Random(13));
    List<Integer> released = new ArrayList<>();
    long lastLatency = -1;
    for (int k : order) {
      assertThat(server.anyWorkflowProcess()).as("nothing runs between signals").isFalse();
      assertThat(server.cli("signal", id, "sig-" + k, "payload-" + k).exitCode()).isZero();
      released.add(k);
      int expected = released.size();
      if (expected < 20) {
        awaitSuspendedWith(id, 20 - expected);
      } else {
        awaitState(id, "COMPLETED");
      }
      List<Matcher> got = gotLines(server.cli("logs", id).out());
      assertThat(got).as("signal sig-%d releases exactly its thread", k).hasSize(expected);
      Matcher last = got.get(got.size() - 1);
      assertThat(last.group(1)).isEqualTo(Integer.toString(k));
      assertThat(last.group(2)).isEqualTo("payload-" + k);
      lastLatency = Long.parseLong(last.group(3));
      if (expected < 20) {
        JsonNode now = view(id);
        List<String> left = new ArrayList<>();
        now.get("waits").forEach(w -> left.add(w.get("signals").get(0).asText()));
        assertThat(left).as("the other waits stay, frozen").hasSize(20 - expected)
            .doesNotContainAnyElementsOf(released.stream().map(r -> "sig-" + r).toList());
      }
    }
    assertThat(server.cli("logs", id).out()).endsWith("all 20 done\n");
    System.out.println("ConcurrentWaitsIT: wake-to-statement latency of the 20th signal: " + lastLatency + " ms;"
        + " checkpoints: " + suspensions(id));
    assertThat(suspensions(id)).as("one checkpoint to begin with and one after each of the first 19 signals").isEqualTo(20);
  }

  @Test
  void timersSignalsAndAwaitAnyMixedAcrossThreadsAndALateSignalKeptForItsWait() throws Exception {
    String id = "mixed-waits";
    submit(id, MixedWaits.class);
    awaitSuspendedWith(id, 4);
    // Nobody waits for "late" yet: it stays in the mailbox and wakes nothing.
    assertThat(server.cli("signal", id, "late", "kept").exitCode()).isZero();
    assertThat(view(id).get("pendingSignals").asInt()).isEqualTo(1);
    assertThat(state(id)).isEqualTo("SUSPENDED");
    // The 2-s timer, then awaitAny's 3-s deadline (it then waits again, 5 min), then the 5-s timer.
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
        .until(() -> log(id).contains("timer 5s over") && state(id).equals("SUSPENDED"));
    String log = log(id);
    assertThat(log).contains("timer 2s over\n").contains("any within 3s: timed out\n");
    assertThat(log.indexOf("timer 2s over")).isLessThan(log.indexOf("any within 3s")).isLessThan(log.indexOf("timer 5s over"));
    assertThat(log).doesNotContain("go:").doesNotContain("any within 5min");
    JsonNode v = view(id);
    List<String> kinds = new ArrayList<>();
    v.get("waits").forEach(w -> kinds.add(w.get("kind").asText() + w.get("signals")));
    assertThat(kinds).containsExactlyInAnyOrder("SIGNAL[\"go\"]", "SIGNAL[\"x\",\"y\"]");

    assertThat(server.cli("signal", id, "y", "why").exitCode()).isZero();
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
        .until(() -> log(id).contains("any within 5min: y=why") && state(id).equals("SUSPENDED"));
    assertThat(log(id)).doesNotContain("go:");
    assertThat(server.cli("signal", id, "go", "now").exitCode()).isZero();
    awaitState(id, "COMPLETED");
    assertThat(log(id)).contains("go: now\n").endsWith("late: kept\n");
    assertThat(view(id).get("pendingSignals").asInt()).isZero();
  }

  @Test
  void aKill9OfTheServerBetweenTwoPartialWakesLosesNothing() throws Exception {
    String id = "partial-wakes-across-a-crash";
    submit(id, ManyWaits.class, "5");
    awaitSuspendedWith(id, 5);
    assertThat(server.cli("signal", id, "sig-3", "before").exitCode()).isZero();
    awaitSuspendedWith(id, 4);
    // Sent while the server is down for a moment? No: sent, then the server is killed before its wake.
    server.kill9();
    server.start();
    assertThat(server.cli("signal", id, "sig-1", "after").exitCode()).isZero();
    awaitSuspendedWith(id, 3);
    assertThat(server.cli("signal", id, "sig-0", "x").exitCode()).isZero();
    server.kill9();
    server.start();
    for (String s : List.of("sig-2", "sig-4")) {
      assertThat(server.cli("signal", id, s, "x").exitCode()).isZero();
    }
    awaitState(id, "COMPLETED");
    List<Matcher> got = gotLines(log(id));
    List<String> threads = got.stream().map(m -> m.group(1) + "=" + m.group(2)).toList();
    assertThat(threads).as("each thread got its signal exactly once")
        .containsExactlyInAnyOrder("3=before", "1=after", "0=x", "2=x", "4=x");
    assertThat(log(id)).endsWith("all 5 done\n");
  }

  @Test
  void aThreadLoopingOnShortWaitsBesideNineteenPendingOnesIsNeverFrozenWithoutItsNextWait() throws Exception {
    // Each time main is released it runs briefly and waits again. Were the agent to take it for idle
    // in between (preempted in a native call, or blocked entering the wait set's monitor), it would
    // freeze the 19 signal waits alone and nothing would ever wake the workflow.
    String id = "loop-beside-pending";
    submit(id, dev.torpor.launcher.it.workflows.LoopBesidePendingWaits.class, "15", "19");
    awaitState(id, "COMPLETED");
    assertThat(log(id)).contains("loop 15/15\n");
    JsonNode h = JSON.readTree(server.get("/v1/workflows/" + id + "/history").body());
    for (JsonNode e : h) {
      if (e.get("type").asText().equals("SUSPENDED")) {
        assertThat(e.path("details").path("waits").asInt()).as("main's timer and the 19 others: %s", e).isEqualTo(20);
      }
    }
  }

  // ----- helpers -----

  private static void submit(String id, Class<?> main, String... args) throws Exception {
    List<String> a = new ArrayList<>(List.of("submit", "--jar", jar.toString(), "--main", main.getName(), "--id", id, "--"));
    a.addAll(List.of(args));
    ServerProcess.Result r = server.cli(a.toArray(String[]::new));
    assertThat(r.exitCode()).as(r.err()).isZero();
  }

  private static void awaitSuspendedWith(String id, int waits) {
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50)).until(() -> {
      JsonNode v = view(id);
      return v.get("state").asText().equals("SUSPENDED") && v.get("waits").size() == waits;
    });
  }

  private static void awaitState(String id, String state) {
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() -> state(id).equals(state));
  }

  private static List<Matcher> gotLines(String log) {
    List<Matcher> out = new ArrayList<>();
    for (String line : log.split("\n")) {
      Matcher m = GOT.matcher(line);
      if (m.matches()) {
        out.add(m);
      }
    }
    return out;
  }

  /** How many checkpoints the workflow's history records (SUSPENDED events). */
  private static long suspensions(String id) throws Exception {
    JsonNode h = JSON.readTree(server.get("/v1/workflows/" + id + "/history").body());
    long n = 0;
    for (JsonNode e : h) {
      if (e.get("type").asText().equals("SUSPENDED")) {
        n++;
      }
    }
    return n;
  }

  private static JsonNode firstSuspension(String id) throws Exception {
    for (JsonNode e : JSON.readTree(server.get("/v1/workflows/" + id + "/history").body())) {
      if (e.get("type").asText().equals("SUSPENDED")) {
        return e;
      }
    }
    throw new AssertionError("no SUSPENDED event in the history of " + id);
  }

  private static String log(String id) throws Exception {
    return server.get("/v1/workflows/" + id + "/logs").body();
  }

  private static String state(String id) throws Exception {
    return view(id).get("state").asText();
  }

  private static JsonNode view(String id) throws Exception {
    return JSON.readTree(server.get("/v1/workflows/" + id).body());
  }
}
