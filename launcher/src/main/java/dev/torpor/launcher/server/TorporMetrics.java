package dev.torpor.launcher.server;

import dev.torpor.launcher.internal.WorkflowEvent;
import dev.torpor.scheduler.PlaneListener;
import dev.torpor.scheduler.WorkflowState;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

/**
 * A node's metrics, in Prometheus's text format at {@code /metrics}: base units (seconds, bytes),
 * no workflow ids as labels. From the control plane: each workflow outcome this node committed
 * ({@code torpor_workflows_*_total}), lease renewals, and the workflows in each state (a gauge
 * read from the registry, at most once a second). From this node's worker: checkpoint and
 * restore durations with their phases, image sizes, timer lag (a timer's due time to its restore's
 * start), the store's share (upload, commit, download), failures by reason, and free slots.
 */
public final class TorporMetrics implements PlaneListener {
  /** The prefix of every Torpor metric. */
  public static final String PREFIX = "torpor.";

  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final Map<String, Counter> outcomes = new ConcurrentHashMap<>();
  private final Counter renewed;
  private final Counter renewFailed;
  private final Timer checkpoint;
  private final Timer restore;
  private final Timer timerLag;
  private final DistributionSummary rawBytes;
  private final DistributionSummary storedBytes;
  /** The earliest timer or deadline of each frozen workflow of this worker, for the lag at its wake. */
  private final Map<String, Instant> dueAt = new ConcurrentHashMap<>();
  private final StateCounts states;

  /**
   * @param counts how many workflows are in each state (the registry's count)
   * @param freeSlots this node's free worker slots, or null for a node without a worker
   */
  public TorporMetrics(Supplier<Map<WorkflowState, Long>> counts, IntSupplier freeSlots) {
    this.states = new StateCounts(counts);
    for (WorkflowState s : WorkflowState.values()) {
      Gauge.builder(PREFIX + "workflows", states, c -> c.get(s))
          .description("Workflows in each state, in the registry (all nodes)")
          .tag("state", s.name().toLowerCase(Locale.ROOT)).register(registry);
    }
    if (freeSlots != null) {
      // Held strongly: a gauge keeps only a weak reference to its object, and nothing else holds this lambda
      // (found when a worker's gauge read NaN after a collection).
      Gauge.builder(PREFIX + "worker.slots.available", freeSlots, IntSupplier::getAsInt).strongReference(true)
          .description("Workflow JVMs this worker may still start or restore").register(registry);
    }
    renewed = Counter.builder(PREFIX + "lease.renewals").tag("result", "ok")
        .description("Lease renewals of this node's worker").register(registry);
    renewFailed = Counter.builder(PREFIX + "lease.renewals").tag("result", "failed")
        .description("Lease renewals of this node's worker").register(registry);
    checkpoint = histogram(PREFIX + "checkpoint", "From the wait's SUSPEND to the image committed and the JVM gone");
    restore = histogram(PREFIX + "restore", "From the wake's start to the workflow running again");
    timerLag = histogram(PREFIX + "timer.lag", "From a timer's (or deadline's) due time to the start of its wake on this worker");
    rawBytes = DistributionSummary.builder(PREFIX + "image.raw").baseUnit("bytes")
        .description("Memory an image holds (CRIU's page files and the rest)").publishPercentileHistogram()
        .register(registry);
    storedBytes = DistributionSummary.builder(PREFIX + "image.stored").baseUnit("bytes")
        .description("Bytes an image added to the store (new chunks, compressed)").publishPercentileHistogram()
        .register(registry);
    for (String outcome : new String[] {"submitted", "started", "completed", "failed", "cancelled", "recovered"}) {
      outcome(outcome);
    }
  }

  private Timer histogram(String name, String description) {
    return Timer.builder(name).description(description).publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofMinutes(10)).register(registry);
  }

  private Counter outcome(String outcome) {
    return outcomes.computeIfAbsent(outcome, o -> Counter.builder(PREFIX + "workflows." + o)
        .description("Workflows " + o + ", as committed by this node").register(registry));
  }

  /** The text a Prometheus server scrapes. */
  public String scrape() {
    return registry.scrape();
  }

  // ----- the control plane -----

  @Override
  public void history(String type) {
    switch (type) {
      case "SUBMITTED" -> outcome("submitted").increment();
      case "STARTED" -> outcome("started").increment();
      case "COMPLETED" -> outcome("completed").increment();
      case "FAILED" -> outcome("failed").increment();
      case "CANCELLED" -> outcome("cancelled").increment();
      case "RECOVERED" -> outcome("recovered").increment();
      default -> { }
    }
  }

  @Override
  public void leaseRenewal(boolean ok) {
    (ok ? renewed : renewFailed).increment();
  }

  // ----- the worker -----

  /** One event of this node's worker. */
  public void accept(WorkflowEvent e) {
    Map<String, Object> d = e.details();
    switch (e.type()) {
      case SUSPENDED, CHECKPOINTED -> {
        number(d.get("suspendMillis")).ifPresent(ms -> checkpoint.record(nanos(ms), java.util.concurrent.TimeUnit.NANOSECONDS));
        phases(d.get("timings"), "checkpoint");
        number(d.get("rawBytes")).ifPresent(rawBytes::record);
        number(d.get("packedBytes")).ifPresent(storedBytes::record);
        Object at = d.get("wakeAt");
        if (at != null && e.type() == WorkflowEvent.Type.SUSPENDED) {
          try {
            dueAt.put(e.workflowId(), Instant.parse(at.toString()));
          } catch (java.time.format.DateTimeParseException ignored) {
            // no lag for this one
          }
        }
      }
      case WAKING -> {
        Instant due = dueAt.remove(e.workflowId());
        Object reason = d.get("reason");
        if (due != null && ("TIMER".equals(reason) || "TIMEOUT".equals(reason))) {
          Duration lag = Duration.between(due, e.at());
          timerLag.record(lag.isNegative() ? Duration.ZERO : lag);
        }
      }
      case RESUMED -> {
        number(d.get("resumeMillis")).ifPresent(ms -> restore.record(nanos(ms), java.util.concurrent.TimeUnit.NANOSECONDS));
        phases(d.get("timings"), "restore");
      }
      case CHECKPOINT_FAILED -> failure("checkpoint", d.get("error"));
      case RESTORE_FAILED -> failure("restore", d.get("error"));
      case EXITED -> dueAt.remove(e.workflowId());
      default -> { }
    }
  }

  /** The phases of a checkpoint or restore; those that are the store's also as {@code torpor_store_seconds}. */
  private void phases(Object timings, String of) {
    if (!(timings instanceof Map<?, ?> m)) {
      return;
    }
    for (Map.Entry<?, ?> t : m.entrySet()) {
      String phase = String.valueOf(t.getKey());
      number(t.getValue()).ifPresent(ms -> {
        Timer.builder(PREFIX + of + ".phase").tag("phase", phase).description("One phase of a " + of)
            .register(registry).record(nanos(ms), java.util.concurrent.TimeUnit.NANOSECONDS);
        String op = switch (phase) {
          case "packUpload" -> "upload";
          case "commit" -> "commit";
          case "fetchVerifyUnpack" -> "download";
          default -> null;
        };
        if (op != null) {
          Timer.builder(PREFIX + "store").tag("op", op).description("The image store's share of checkpoints and restores")
              .register(registry).record(nanos(ms), java.util.concurrent.TimeUnit.NANOSECONDS);
        }
      });
    }
  }

  /** A failed checkpoint or restore, by a reason out of a few (no free text as a label). */
  private void failure(String what, Object error) {
    String e = String.valueOf(error).toLowerCase(Locale.ROOT);
    String reason = e.contains("refused") ? "refused"
        : e.contains("store") || e.contains("s3") || e.contains("upload") || e.contains("fetch") ? "store"
        : e.contains("criu") || e.contains("dump") || e.contains("restore") ? "criu"
        : "other";
    Counter.builder(PREFIX + what + ".failures").tag("reason", reason)
        .description(what + "s that failed, by reason").register(registry).increment();
  }

  private static java.util.Optional<Double> number(Object v) {
    return v instanceof Number n ? java.util.Optional.of(n.doubleValue()) : java.util.Optional.empty();
  }

  private static long nanos(double millis) {
    return Math.round(millis * 1e6);
  }

  /** The registry's count per state, read at most once a second however often it is scraped. */
  private static final class StateCounts {
    private final Supplier<Map<WorkflowState, Long>> source;
    private Map<WorkflowState, Long> last = new EnumMap<>(WorkflowState.class);
    private long readAt;

    StateCounts(Supplier<Map<WorkflowState, Long>> source) {
      this.source = source;
    }

    synchronized double get(WorkflowState s) {
      long now = System.nanoTime();
      if (readAt == 0 || now - readAt > 1_000_000_000L) {
        try {
          last = source.get();
        } catch (RuntimeException e) {
          System.err.println("torpor: cannot count workflows for /metrics: " + e.getMessage());
        }
        readAt = now;
      }
      return last.getOrDefault(s, 0L);
    }
  }
}
