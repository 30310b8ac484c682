package dev.torpor.bench;

import static dev.torpor.bench.SnapshotBenchmark.ms;
import static dev.torpor.bench.SnapshotBenchmark.pct;

import dev.torpor.bench.SnapshotBenchmark.Sample;
import dev.torpor.bench.SnapshotBenchmark.Table;
import dev.torpor.examples.Cycles;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;

/**
 * The snapshot benchmark's report when it ran on several image stores (issue #4): latency,
 * image sizes and phases side by side, one column per store, then the targets: issue #2's for
 * the local store, issue #4's for S3 (suspend and resume p50), and what encryption adds to a
 * store's p50 where the same store ran in the clear too.
 */
final class StoreComparison {
  private StoreComparison() {}

  /** The report of {@code samples}, every sample of each store, stores in run order. */
  static String report(Map<StoreVariant, List<Sample>> samples, int cycles, int repeats) {
    Map<StoreVariant, List<Sample>> measured = new LinkedHashMap<>();
    samples.forEach((v, all) -> measured.put(v, SnapshotBenchmark.measured(all)));
    StringBuilder out = new StringBuilder();
    out.append(String.format(Locale.ROOT,
        "Cycles workflow (`Durable.waitFor(50 ms)` in a loop, %d-entry map on the heap): %d cycles × %d run(s) on"
            + " each of %d image stores, each store with its own embedded worker in the benchmark's JVM; the stores"
            + " take turns (run 1 on each, then run 2, ...).%n",
        Cycles.MAP_ENTRIES, cycles, repeats, samples.size()));
    List<String> counts = new ArrayList<>();
    samples.forEach((v, all) -> {
      long inMemory = all.stream().filter(s -> !s.dumped()).count();
      counts.add(v + " " + measured.get(v).size() + (inMemory == 0 ? "" : " (" + inMemory + " served in memory, left out)"));
    });
    out.append(String.format(Locale.ROOT, "Warm-up: cycles 1–%d of each run are left out; samples measured: %s.%n%n",
        SnapshotBenchmark.WARM_UP, String.join(", ", counts)));
    if (measured.values().stream().anyMatch(List::isEmpty)) {
      out.append("A store has no samples: nothing to compare.\n");
      return out.toString();
    }

    out.append("Latency and image size by store (median and p95):\n\n");
    List<String> header = new ArrayList<>(List.of("metric"));
    measured.keySet().forEach(v -> header.addAll(List.of(v + " p50", v + " p95")));
    header.add("target p50");
    Table t = new Table(header.toArray(String[]::new));
    row(t, measured, "suspend latency, ms (wait call → image committed, process gone)", Sample::suspendMillis,
        SnapshotBenchmark::ms, targetCell(measured.keySet(), 0));
    row(t, measured, "resume latency, ms (wake sent → first statement after the wait)", Sample::resumeMillis,
        SnapshotBenchmark::ms, targetCell(measured.keySet(), 1));
    row(t, measured, "stored per further image, MB (its data object: new chunks, index; as stored)",
        s -> s.packedBytes() / 1e6,
        SnapshotBenchmark::mb, "");
    row(t, measured, "raw image, MB", s -> s.rawBytes() / 1e6, SnapshotBenchmark::mb, "");
    out.append(t).append('\n');

    Map<StoreVariant, Map<String, Stats>> sPhases = new LinkedHashMap<>();
    Map<StoreVariant, Map<String, Stats>> rPhases = new LinkedHashMap<>();
    measured.forEach((v, m) -> {
      sPhases.put(v, SnapshotBenchmark.phases(m, Sample::suspendPhases));
      rPhases.put(v, SnapshotBenchmark.phases(m, Sample::resumePhases));
    });
    out.append("Suspend phases by store, median ms (p95); the store's part is `packUpload` and `commit`. An S3 image"
        + " smaller than one part (8 MiB) stays in memory during `packUpload` and is sent by the commit, with one"
        + " PutObject for the data and one for the manifest:\n\n");
    out.append(phaseTable(sPhases, measured, Sample::suspendMillis, "suspend latency")).append('\n');
    out.append("Resume phases by store, median ms (p95); the store's part is `fetchVerifyUnpack` and, on S3, the"
        + " manifest GET in the untimed rest:\n\n");
    out.append(phaseTable(rPhases, measured, Sample::resumeMillis, "resume latency")).append('\n');

    List<StoreVariant> stores = new ArrayList<>(measured.keySet());
    for (StoreVariant v : stores) {
      StoreVariant base = v.s3() ? new StoreVariant(false, false, v.cached()) : null;
      if (!v.cached() && !v.encrypted() && measured.containsKey(v.withCache())) {
        // what the image cache saves: the cached store against the same store without it
        StoreVariant hot = v.withCache();
        out.append(String.format(Locale.ROOT, "%s against %s: %s; %s.%n%n", hot, v,
            delta("suspend", measured.get(hot), measured.get(v), Sample::suspendMillis, sPhases.get(hot), sPhases.get(v)),
            delta("resume", measured.get(hot), measured.get(v), Sample::resumeMillis, rPhases.get(hot), rPhases.get(v))));
      }
      if (base == null || v.encrypted() || !measured.containsKey(base)) {
        continue;
      }
      out.append(String.format(Locale.ROOT, "%s against %s: %s; %s.%n%n", v, base,
          delta("suspend", measured.get(v), measured.get(base), Sample::suspendMillis, sPhases.get(v), sPhases.get(base)),
          delta("resume", measured.get(v), measured.get(base), Sample::resumeMillis, rPhases.get(v), rPhases.get(base))));
    }

    out.append("Targets (issue #15: local suspend 50 ms and resume 20 ms, S3 resume 25 ms from the worker's cache and"
        + " 150 ms without; issue #4's 250 ms S3 suspend; issue #2's 150 ms local resume without the cache; S3 is"
        + " S3Proxy on this machine; 2-core machine):\n\n");
    for (StoreVariant v : stores) {
      double[] target = SnapshotBenchmark.targets(v);
      Stats suspend = SnapshotBenchmark.stats(measured.get(v), Sample::suspendMillis);
      Stats resume = SnapshotBenchmark.stats(measured.get(v), Sample::resumeMillis);
      out.append(SnapshotBenchmark.verdict(v + ": suspend p50", suspend.median(), target[0], "ms", sPhases.get(v)))
          .append('\n');
      out.append(SnapshotBenchmark.verdict(v + ": resume p50", resume.median(), target[1], "ms", rPhases.get(v)))
          .append('\n');
    }
    for (StoreVariant v : stores) {
      Stats stored = SnapshotBenchmark.stats(measured.get(v), s -> s.packedBytes() / 1e6);
      out.append(SnapshotBenchmark.verdict(v + ": stored per further image p50", stored.median(),
          SnapshotBenchmark.STORED_PER_FURTHER_IMAGE_MB, "MB", Map.of())).append('\n');
    }
    for (StoreVariant v : stores) {
      if (v.encrypted() && measured.containsKey(v.plain())) {
        out.append(overhead(v, "suspend", measured, Sample::suspendMillis, sPhases)).append('\n');
        out.append(overhead(v, "resume", measured, Sample::resumeMillis, rPhases)).append('\n');
      }
    }
    if (Runtime.getRuntime().availableProcessors() != 2) {
      out.append(String.format(Locale.ROOT, "%nThe targets are for 2 cores; this machine has %d.%n",
          Runtime.getRuntime().availableProcessors()));
    }
    if (measured.values().stream().anyMatch(m -> m.size() < 20)) {
      out.append("\nFewer than 20 samples on a store: the issues ask for at least 20 measured cycles.\n");
    }
    return out.toString();
  }

  /** The target column of a latency row: each distinct target with the stores it applies to. */
  private static String targetCell(Set<StoreVariant> stores, int which) {
    Map<Double, List<String>> byTarget = new LinkedHashMap<>();
    for (StoreVariant v : stores) {
      byTarget.computeIfAbsent(SnapshotBenchmark.targets(v)[which], x -> new ArrayList<>()).add(v.plain().label());
    }
    List<String> cells = new ArrayList<>();
    byTarget.forEach((target, names) -> cells.add(
        String.join("/", new LinkedHashSet<>(names)) + " ≤ " + ms(target)));
    return String.join(", ", cells);
  }

  private static void row(Table t, Map<StoreVariant, List<Sample>> measured, String label, ToDoubleFunction<Sample> f,
      Function<Double, String> format, String target) {
    List<String> cells = new ArrayList<>(List.of(label));
    measured.values().forEach(m -> {
      Stats s = SnapshotBenchmark.stats(m, f);
      cells.add(format.apply(s.median()));
      cells.add(format.apply(s.p95()));
    });
    cells.add(target);
    t.row(cells.toArray(String[]::new));
  }

  private static Table phaseTable(Map<StoreVariant, Map<String, Stats>> phases, Map<StoreVariant, List<Sample>> measured,
      ToDoubleFunction<Sample> total, String totalLabel) {
    Set<String> names = new LinkedHashSet<>();
    phases.values().forEach(p -> names.addAll(p.keySet()));
    List<String> header = new ArrayList<>(List.of("phase"));
    phases.keySet().forEach(v -> header.add(v.label()));
    Table t = new Table(header.toArray(String[]::new));
    for (String name : names) {
      List<String> cells = new ArrayList<>(List.of(name));
      phases.values().forEach(p -> {
        Stats s = p.get(name);
        cells.add(s == null ? "–" : ms(s.median()) + " (" + ms(s.p95()) + ")");
      });
      t.row(cells.toArray(String[]::new));
    }
    List<String> cells = new ArrayList<>(List.of(totalLabel + " (end to end; phase medians need not add up to it)"));
    measured.values().forEach(m -> {
      Stats s = SnapshotBenchmark.stats(m, total);
      cells.add(ms(s.median()) + " (" + ms(s.p95()) + ")");
    });
    t.row(cells.toArray(String[]::new));
    return t;
  }

  /**
   * "suspend p50 +31.0 ms (+25%), of which packUpload +2.0 ms, commit +25.1 ms": the difference
   * of the p50s, and the phases whose medians moved most.
   */
  private static String delta(String what, List<Sample> a, List<Sample> b, ToDoubleFunction<Sample> f,
      Map<String, Stats> phasesA, Map<String, Stats> phasesB) {
    double pa = SnapshotBenchmark.stats(a, f).median();
    double pb = SnapshotBenchmark.stats(b, f).median();
    List<String> moved = new ArrayList<>();
    phasesA.entrySet().stream()
        .filter(e -> phasesB.containsKey(e.getKey()))
        .sorted(Comparator.comparingDouble(
            (Map.Entry<String, Stats> e) -> -Math.abs(e.getValue().median() - phasesB.get(e.getKey()).median())))
        .limit(3)
        .forEach(e -> moved.add("`" + shortName(e.getKey()) + "` "
            + signed(e.getValue().median() - phasesB.get(e.getKey()).median()) + " ms"));
    return String.format(Locale.ROOT, "%s p50 %s ms (%s), phase medians moving most: %s", what, signed(pa - pb),
        signedPct(pa / pb - 1), String.join(", ", moved));
  }

  /** What encryption adds to a store's p50: met if at most the target share. */
  private static String overhead(StoreVariant encrypted, String what, Map<StoreVariant, List<Sample>> measured,
      ToDoubleFunction<Sample> f, Map<StoreVariant, Map<String, Stats>> phases) {
    StoreVariant plain = encrypted.plain();
    double e = SnapshotBenchmark.stats(measured.get(encrypted), f).median();
    double p = SnapshotBenchmark.stats(measured.get(plain), f).median();
    double share = e / p - 1;
    double target = SnapshotBenchmark.ENCRYPTION_OVERHEAD_TARGET;
    String head = String.format(Locale.ROOT, "- encryption on %s, %s p50: %s ms against %s ms, %s", plain, what, ms(e),
        ms(p), signedPct(share));
    if (share <= target) {
      return head + " ≤ " + pct(target) + ": met";
    }
    return head + " > " + pct(target) + ": MISSED; " + delta(what, measured.get(encrypted), measured.get(plain), f,
        phases.get(encrypted), phases.get(plain));
  }

  private static String shortName(String phase) {
    int colon = phase.indexOf(':');
    return colon < 0 ? phase : phase.substring(0, colon);
  }

  private static String signed(double v) {
    return (v >= 0 ? "+" : "") + ms(v);
  }

  /** A signed share to 0.1%: an overhead near zero may come out either side of it. */
  private static String signedPct(double v) {
    return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, "%+.1f%%", v * 100);
  }
}
