package dev.torpor.bench;

import static dev.torpor.bench.SnapshotBenchmark.mb;
import static dev.torpor.bench.SnapshotBenchmark.ms;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.torpor.bench.SnapshotBenchmark.Sample;
import dev.torpor.bench.SnapshotBenchmark.Table;
import dev.torpor.examples.Steps;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * The history benchmark (issue #6): resume latency against the length of a workflow's history,
 * Torpor side by side with a replay engine (Temporal's Java SDK on its in-process test server),
 * and Torpor's resume latency against the heap the workflow holds.
 *
 * <p>The workflow is the same on both: N calls of a trivial step keeping each small result, then
 * {@code waits} times a durable timer followed by one more step. On Torpor it is {@link Steps}
 * on an embedded worker (CRIU, local image store), each wait a full freeze; on Temporal it is
 * {@code TemporalReplay}'s workflow, run in a JVM of its own with the same JVM flags as a
 * Torpor workflow JVM, each resume a full replay of the history (the workflow is evicted from the
 * worker's cache while it sleeps). The first {@link SnapshotBenchmark#WARM_UP} waits of every run
 * are warm-up on both and left out.
 */
final class HistoryBenchmark {
  static final List<Integer> STEPS = List.of(10, 100, 1_000, 10_000);
  static final List<Integer> HEAP_MIB = List.of(1, 10, 100, 500);
  /** Issue #6: Torpor's resume p50 at the largest N within this factor of its p50 at the smallest. */
  static final double FLAT_TARGET = 1.2;
  static final String TEMPORAL_JAR_PROPERTY = "torpor.temporal.jar";

  /**
   * @param waits waits per run (the first {@link SnapshotBenchmark#WARM_UP} left out)
   * @param repeats Torpor runs per N, each a new workflow JVM
   * @param heapWaits waits per run of the heap sweep
   * @param replays timed replays of each finished Temporal history (the first few left out)
   */
  record Options(List<Integer> steps, List<Integer> heaps, int waits, int repeats, int heapWaits, int heapRepeats,
      int replays) {
    static final Options FULL = new Options(STEPS, HEAP_MIB, 13, 3, 8, 2, 13);
    /** For the test: the whole path, at sizes that take a minute. */
    static final Options QUICK = new Options(List.of(10, 1_000), List.of(1, 50), 5, 1, 5, 1, 5);
  }

  /** Torpor at one N or one heap size. */
  record TorporPoint(int x, Stats resume, Stats suspend, Stats packedMb, Stats rawMb, int samples) {}

  /** Temporal at one N. */
  record TemporalPoint(int steps, Stats resume, Stats replay, int events, double historyMb, boolean intact,
      String version) {}

  record Result(String markdown, List<TorporPoint> torpor, List<TorporPoint> heap, List<TemporalPoint> temporal) {}

  private HistoryBenchmark() {}

  static Result run(Options o, List<String> problems) throws IOException, InterruptedException {
    List<TemporalPoint> temporal = temporal(o, problems);
    List<TorporPoint> torpor = new ArrayList<>();
    for (int n : o.steps()) {
      torpor.add(point(n, SnapshotBenchmark.runWorkflow(Steps.class.getName(),
          List.of(Integer.toString(n), Integer.toString(o.waits())), o.waits(), o.repeats(), problems)));
    }
    List<TorporPoint> heap = new ArrayList<>();
    for (int mib : o.heaps()) {
      heap.add(point(mib, SnapshotBenchmark.runWorkflow(Steps.class.getName(),
          List.of("10", Integer.toString(o.heapWaits()), Integer.toString(mib)), o.heapWaits(), o.heapRepeats(),
          problems)));
    }
    return new Result(report(o, torpor, heap, temporal), torpor, heap, temporal);
  }

  private static TorporPoint point(int x, List<Sample> all) {
    List<Sample> m = SnapshotBenchmark.measured(all);
    return new TorporPoint(x, stat(m, Sample::resumeMillis), stat(m, Sample::suspendMillis),
        stat(m, s -> s.packedBytes() / 1e6), stat(m, s -> s.rawBytes() / 1e6), m.size());
  }

  private static Stats stat(List<Sample> m, ToDoubleFunction<Sample> f) {
    return Stats.of(m.stream().map(f::applyAsDouble).toList());
  }

  // ----- the peer -----

  /**
   * Runs TemporalReplay in its own JVM: the same java as Torpor's workflows, {@code -XX:-UsePerfData},
   * and the JVM's own defaults otherwise (not the small-image options Torpor gives its workflow JVMs,
   * which are for images, not for a replaying worker).
   */
  private static List<TemporalPoint> temporal(Options o, List<String> problems) throws IOException, InterruptedException {
    Path jar = temporalJar();
    Path out = Files.createTempFile("torpor-temporal-", ".json");
    Path err = Files.createTempFile("torpor-temporal-", ".log");
    try {
      List<String> cmd = new ArrayList<>(List.of(BenchServer.java(), "-XX:-UsePerfData", "-jar", jar.toString(),
          out.toString(), Integer.toString(o.waits()), Integer.toString(o.replays())));
      o.steps().forEach(n -> cmd.add(Integer.toString(n)));
      log("Temporal: " + String.join(" ", cmd));
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(err.toFile()).start();
      if (!p.waitFor(60, TimeUnit.MINUTES)) {
        p.destroyForcibly();
        throw new IOException("the Temporal run did not finish within 60 minutes; its log: " + err);
      }
      if (p.exitValue() != 0) {
        throw new IOException("the Temporal run exited with " + p.exitValue() + ": " + tail(err));
      }
      List<TemporalPoint> points = new ArrayList<>();
      JsonNode report = new ObjectMapper().readTree(out.toFile());
      String version = report.get("temporalVersion").asText() + " on Java " + report.get("javaVersion").asText();
      for (JsonNode r : report.get("results")) {
        TemporalPoint t = new TemporalPoint(r.get("steps").asInt(), afterWarmUp(r.get("resumeMillis")),
            afterWarmUp(r.get("replayMillis")), r.get("historyEvents").asInt(), r.get("historyBytes").asLong() / 1e6,
            r.get("resultIntact").asBoolean(), version);
        if (!t.intact()) {
          problems.add("Temporal, N=" + t.steps() + ": the workflow's result did not match the results kept");
        }
        points.add(t);
      }
      Files.delete(err);
      return points;
    } finally {
      Files.deleteIfExists(out);
    }
  }

  private static Stats afterWarmUp(JsonNode values) {
    List<Double> xs = new ArrayList<>();
    for (int i = SnapshotBenchmark.WARM_UP; i < values.size(); i++) {
      xs.add(values.get(i).asDouble());
    }
    return Stats.of(xs);
  }

  /** The Temporal side's jar: {@code temporal/temporal-replay.jar} beside this one, or {@code -Dtorpor.temporal.jar}. */
  static Path temporalJar() throws IOException {
    String named = System.getProperty(TEMPORAL_JAR_PROPERTY);
    Path jar = named != null ? Path.of(named)
        : SnapshotBenchmark.codeSource(HistoryBenchmark.class).getParent().resolve("temporal").resolve("temporal-replay.jar");
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException("the history benchmark needs the Temporal peer's jar, which is not at " + jar
          + ": build with `mvn -B -ntp install -DskipTests`, which builds bench-temporal and copies its jar there,"
          + " or name one with -D" + TEMPORAL_JAR_PROPERTY + "=PATH");
    }
    return jar;
  }

  private static String tail(Path log) throws IOException {
    String s = Files.readString(log);
    return s.length() > 3000 ? "..." + s.substring(s.length() - 3000) : s;
  }

  // ----- report -----

  static String report(Options o, List<TorporPoint> torpor, List<TorporPoint> heap, List<TemporalPoint> temporal) {
    StringBuilder out = new StringBuilder();
    out.append(String.format(Locale.ROOT, "Workflow: N trivial steps keeping each small result, then %d × (durable "
        + "timer, one more step). Torpor: %d run(s) per N, each wait a full freeze and restore (CRIU, local store). "
        + "Temporal %s: one workflow per N, each resume a full replay (cache evicted while it sleeps); then %d timed "
        + "replays of the finished history. Warm-up: the first %d waits (and replays) of each run are left out.%n%n",
        o.waits(), o.repeats(), temporal.isEmpty() ? "" : "(Java SDK and its test server " + temporal.get(0).version() + ")",
        o.replays(), SnapshotBenchmark.WARM_UP));
    Table t = new Table("N", "Torpor resume p50 (p95), ms", "Temporal resume p50 (p95), ms",
        "Temporal replay alone p50 (p95), ms", "Temporal ÷ Torpor (p50)", "Torpor image, MB packed (raw)",
        "Temporal history: events, MB");
    for (TorporPoint p : torpor) {
      TemporalPoint q = temporal.stream().filter(x -> x.steps() == p.x()).findFirst().orElse(null);
      t.row(String.format(Locale.ROOT, "%,d", p.x()), pair(p.resume()),
          q == null ? "–" : pair(q.resume()), q == null ? "–" : pair(q.replay()),
          q == null ? "–" : String.format(Locale.ROOT, "%.2f×", q.resume().median() / p.resume().median()),
          mb(p.packedMb().median()) + " (" + mb(p.rawMb().median()) + ")",
          q == null ? "–" : String.format(Locale.ROOT, "%,d, %s", q.events(), mb(q.historyMb())));
    }
    out.append(t).append('\n');
    out.append(String.format(Locale.ROOT, "Samples: Torpor %s per N; Temporal %s resumes and %s replays per N.%n%n",
        torpor.stream().map(p -> Integer.toString(p.samples())).distinct().reduce((a, b) -> a + "/" + b).orElse("0"),
        temporal.stream().map(p -> Integer.toString(p.resume().count())).distinct().reduce((a, b) -> a + "/" + b).orElse("0"),
        temporal.stream().map(p -> Integer.toString(p.replay().count())).distinct().reduce((a, b) -> a + "/" + b).orElse("0")));

    Table h = new Table("heap held, MiB", "Torpor resume p50 (p95), ms", "suspend p50 (p95), ms",
        "image, MB packed (raw)", "samples");
    for (TorporPoint p : heap) {
      h.row(String.format(Locale.ROOT, "%,d", p.x()), pair(p.resume()), pair(p.suspend()),
          mb(p.packedMb().median()) + " (" + mb(p.rawMb().median()) + ")", Integer.toString(p.samples()));
    }
    out.append("Torpor's resume against the heap the workflow holds (pseudo-random bytes, incompressible; N = 10):\n\n");
    out.append(h).append('\n');

    out.append("Findings:\n\n");
    verdicts(torpor, heap, temporal).forEach(v -> out.append("- ").append(v).append('\n'));
    return out.toString();
  }

  /** Torpor's resume p50 at the largest N over its p50 at the smallest (issue #6: at most {@link #FLAT_TARGET}). */
  static double flatness(List<TorporPoint> torpor) {
    return torpor.get(torpor.size() - 1).resume().median() / torpor.get(0).resume().median();
  }

  /** The targets, where Temporal wins, and the crossovers, in words. */
  static List<String> verdicts(List<TorporPoint> torpor, List<TorporPoint> heap, List<TemporalPoint> temporal) {
    List<String> v = new ArrayList<>();
    if (torpor.size() >= 2) {
      TorporPoint lo = torpor.get(0);
      TorporPoint hi = torpor.get(torpor.size() - 1);
      double ratio = flatness(torpor);
      v.add(String.format(Locale.ROOT, "Torpor's resume p50 at N = %,d is %s× its p50 at N = %,d (%s against %s ms): "
          + "%s (target ≤ %.1f×)", hi.x(), String.format(Locale.ROOT, "%.2f", ratio), lo.x(), ms(hi.resume().median()),
          ms(lo.resume().median()), ratio <= FLAT_TARGET ? "met" : "MISSED", FLAT_TARGET));
    }
    for (TorporPoint p : torpor) {
      temporal.stream().filter(q -> q.steps() == p.x()).findFirst().ifPresent(q -> {
        boolean torporFaster = p.resume().median() < q.resume().median();
        v.add(String.format(Locale.ROOT, "N = %,d: %s resumes faster, %s against %s ms (p50)%s", p.x(),
            torporFaster ? "Torpor" : "**Temporal**", ms(Math.min(p.resume().median(), q.resume().median())),
            ms(Math.max(p.resume().median(), q.resume().median())),
            p.x() == torpor.get(torpor.size() - 1).x() ? (torporFaster ? ": target met" : ": target MISSED") : ""));
      });
    }
    crossover(torpor, temporal).ifPresent(v::add);
    if (!temporal.isEmpty() && !heap.isEmpty()) {
      TemporalPoint big = temporal.get(temporal.size() - 1);
      v.add(heapCrossover(heap, big));
    }
    return v;
  }

  /** Where, in N, the two resume curves cross, in words (see {@link #crossing}). */
  static java.util.Optional<String> crossover(List<TorporPoint> torpor, List<TemporalPoint> temporal) {
    return crossing(torpor, temporal).map(c -> String.format(Locale.ROOT, "The curves cross near N ≈ %,.0f (log-log "
        + "interpolation between N = %,.0f and %,.0f): below it Temporal's replay resumes faster, above it Torpor",
        c.steps(), c.below(), c.above()));
  }

  /** A crossing of the two resume curves: at {@code steps}, between the measured N {@code below} and {@code above}. */
  record Crossing(double steps, double below, double above) {}

  /** Where, in N, the two resume curves first cross (log-log interpolation between measured points). */
  static java.util.Optional<Crossing> crossing(List<TorporPoint> torpor, List<TemporalPoint> temporal) {
    List<double[]> pts = new ArrayList<>(); // n, torpor, temporal
    for (TorporPoint p : torpor) {
      temporal.stream().filter(q -> q.steps() == p.x()).findFirst()
          .ifPresent(q -> pts.add(new double[] {p.x(), p.resume().median(), q.resume().median()}));
    }
    for (int i = 1; i < pts.size(); i++) {
      double[] a = pts.get(i - 1);
      double[] b = pts.get(i);
      double da = Math.log(a[2]) - Math.log(a[1]);
      double db = Math.log(b[2]) - Math.log(b[1]);
      if (da < 0 && db >= 0 || da >= 0 && db < 0) {
        double f = da / (da - db);
        double n = Math.exp(Math.log(a[0]) + f * (Math.log(b[0]) - Math.log(a[0])));
        return java.util.Optional.of(new Crossing(n, a[0], b[0]));
      }
    }
    return java.util.Optional.empty();
  }

  /** The heap at which Torpor's resume reaches Temporal's at its largest N (linear between measured sizes). */
  static String heapCrossover(List<TorporPoint> heap, TemporalPoint big) {
    double target = big.resume().median();
    for (int i = 0; i < heap.size(); i++) {
      TorporPoint p = heap.get(i);
      if (p.resume().median() >= target) {
        if (i == 0) {
          return String.format(Locale.ROOT, "Heap: already at %,d MiB Torpor's resume (%s ms) is slower than "
              + "Temporal's at N = %,d (%s ms)", p.x(), ms(p.resume().median()), big.steps(), ms(target));
        }
        TorporPoint a = heap.get(i - 1);
        double f = (target - a.resume().median()) / (p.resume().median() - a.resume().median());
        double mib = a.x() + f * (p.x() - a.x());
        return String.format(Locale.ROOT, "Heap: Torpor's resume reaches Temporal's replay at N = %,d (%s ms) at "
            + "about %,.0f MiB of live heap (linear between %,d and %,d MiB): a workflow holding less resumes faster "
            + "on Torpor than a %,d-step history replays", big.steps(), ms(target), mib, a.x(), p.x(), big.steps());
      }
    }
    TorporPoint last = heap.get(heap.size() - 1);
    return String.format(Locale.ROOT, "Heap: even at %,d MiB Torpor's resume (%s ms) is faster than Temporal's replay "
        + "at N = %,d (%s ms)", last.x(), ms(last.resume().median()), big.steps(), ms(target));
  }

  private static String pair(Stats s) {
    return ms(s.median()) + " (" + ms(s.p95()) + ")";
  }

  private static void log(String msg) {
    System.err.println("torpor-bench: " + msg);
  }
}
