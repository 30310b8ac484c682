package dev.torpor.launcher.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.torpor.launcher.internal.WorkflowEvent;
import dev.torpor.launcher.internal.WorkflowEvent.Type;
import dev.torpor.scheduler.WorkflowState;
import java.time.Instant;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class TorporMetricsTest {
  private final AtomicInteger counted = new AtomicInteger();
  private final AtomicInteger slots = new AtomicInteger(3);
  private final TorporMetrics metrics = new TorporMetrics(() -> {
    counted.incrementAndGet();
    Map<WorkflowState, Long> m = new EnumMap<>(WorkflowState.class);
    m.put(WorkflowState.SUSPENDED, 7L);
    return m;
  }, slots::get); // a bound method reference, which nothing but the gauge holds (as the server's)

  @Test
  void eventsBecomeSecondsAndBytesWithPhasesAndNoWorkflowIds() {
    Instant due = Instant.parse("2026-12-07T10:00:00Z");
    metrics.accept(new WorkflowEvent(Type.SUSPENDED, "wf-secret-id", 1, due.minusSeconds(60), Map.of("suspendMillis", 80.0,
        "rawBytes", 25_000_000L, "packedBytes", 400_000L, "wakeAt", due.toString(),
        "timings", Map.of("dump", 40.0, "packUpload", 20.0, "commit", 5.0))));
    metrics.accept(new WorkflowEvent(Type.WAKING, "wf-secret-id", 1, due.plusMillis(250), Map.of("reason", "TIMER")));
    metrics.accept(new WorkflowEvent(Type.RESUMED, "wf-secret-id", 1, due.plusMillis(300),
        Map.of("resumeMillis", 45.5, "timings", Map.of("fetchVerifyUnpack", 30.0))));
    metrics.accept(new WorkflowEvent(Type.CHECKPOINT_FAILED, "wf-secret-id", 2, due, Map.of("error", "criu dump failed: exit 1")));
    metrics.accept(new WorkflowEvent(Type.RESTORE_FAILED, "wf-secret-id", 2, due, Map.of("error", "S3 store unreachable")));
    metrics.history("COMPLETED");
    metrics.history("SIGNAL_RECEIVED");
    metrics.leaseRenewal(true);
    metrics.leaseRenewal(false);

    String text = metrics.scrape();
    assertThat(text).doesNotContain("wf-secret-id")
        .contains("torpor_checkpoint_seconds_count 1", "torpor_checkpoint_seconds_sum 0.08\n",
            "torpor_restore_seconds_sum 0.0455\n", "torpor_timer_lag_seconds_sum 0.25\n",
            "torpor_image_raw_bytes_sum 2.5E7", "torpor_image_stored_bytes_sum 400000.0",
            "torpor_checkpoint_phase_seconds_sum{phase=\"dump\"} 0.04", "torpor_store_seconds_sum{op=\"upload\"} 0.02",
            "torpor_store_seconds_sum{op=\"download\"} 0.03", "torpor_checkpoint_failures_total{reason=\"criu\"} 1.0",
            "torpor_restore_failures_total{reason=\"store\"} 1.0", "torpor_workflows_completed_total 1.0",
            "torpor_workflows_failed_total 0.0", "torpor_lease_renewals_total{result=\"ok\"} 1.0",
            "torpor_lease_renewals_total{result=\"failed\"} 1.0", "torpor_workflows{state=\"suspended\"} 7.0",
            "torpor_workflows{state=\"running\"} 0.0", "torpor_worker_slots_available 3.0");
    metrics.scrape();
    assertThat(counted.get()).as("the registry counted once for two scrapes within a second").isEqualTo(1);
    System.gc(); // a gauge holds its object weakly: the slots' supplier must outlive a collection
    assertThat(metrics.scrape()).contains("torpor_worker_slots_available 3.0");
  }

  /** docs/grafana's dashboard queries only metrics a node publishes (after one of each event). */
  @Test
  void everyMetricTheDashboardQueriesIsPublished() throws Exception {
    eventsBecomeSecondsAndBytesWithPhasesAndNoWorkflowIds();
    java.util.Set<String> published = new java.util.HashSet<>();
    for (String line : metrics.scrape().split("\n")) {
      if (!line.startsWith("#") && !line.isBlank()) {
        published.add(line.replaceAll("[{ ].*", ""));
      }
    }
    java.nio.file.Path dashboard = java.nio.file.Path.of(System.getProperty("user.dir")).resolveSibling("docs")
        .resolve("grafana").resolve("torpor-dashboard.json");
    com.fasterxml.jackson.databind.JsonNode d = new com.fasterxml.jackson.databind.ObjectMapper().readTree(dashboard.toFile());
    java.util.List<String> queried = new java.util.ArrayList<>();
    for (com.fasterxml.jackson.databind.JsonNode panel : d.get("panels")) {
      for (com.fasterxml.jackson.databind.JsonNode t : panel.get("targets")) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("torpor_[a-z_]+").matcher(t.get("expr").asText());
        while (m.find()) {
          queried.add(m.group());
        }
      }
    }
    assertThat(queried).hasSizeGreaterThan(20);
    assertThat(published).containsAll(queried);
  }
}
