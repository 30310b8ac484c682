package dev.torpor.bench;

import dev.torpor.bench.HistoryBenchmark.TemporalPoint;
import dev.torpor.bench.HistoryBenchmark.TorporPoint;
import dev.torpor.bench.SnapshotBenchmark.Sample;
import dev.torpor.launcher.internal.CriuEngine;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The benchmarks' one entry point (issue #6): {@code java -jar bench/target/torpor-bench.jar}
 * runs every benchmark in turn (the snapshot engine on the local store, S3 and S3 with
 * encryption; the history benchmark against Temporal and the heap sweep; density; the control
 * plane; the cluster), prints a summary, and writes the report: {@code docs/benchmarks.md}, a CSV
 * file per table and per chart under {@code docs/benchmarks/}, and the PNG charts there. The
 * report is written after each part, so that a run cut short leaves what it measured; a part that
 * fails is named among the run's problems and the next part runs.
 *
 * <p>{@code --quick} runs the same path at small sizes, leaving out the control-plane and cluster
 * parts (minutes, not the better part of two hours); the test suite runs it so, into a directory
 * of its own. {@code --out=DIR} chooses where the report goes (default {@code docs}). The single
 * benchmarks can still be run alone: {@code snapshot ARGS}, {@code control-plane ARGS}, {@code
 * cluster ARGS}, with the arguments their classes document; arguments that begin with a number
 * go to the snapshot benchmark, as before this entry point existed.
 *
 * <p>The density part suspends 10,000 workflows, then again with {@code --no-aslr};
 * {@code -Dtorpor.bench.density=N} and {@code -Dtorpor.bench.densityNoAslr=N} change those
 * counts (the report names the count it measured). {@code -Dtorpor.bench.serverJvmOptions="..."}
 * adds options to every server JVM the parts start (a profiler's: {@code
 * -XX:StartFlightRecording=filename=server.jfr}).
 */
public final class Bench {
  static final String USAGE = String.join("\n",
      "usage: java -jar torpor-bench.jar [--quick] [--out=DIR]      every benchmark; the report into DIR (default docs)",
      "       java -jar torpor-bench.jar snapshot [cycles] [repeats] [markdown-out] [--s3 | --stores=LIST]",
      "       java -jar torpor-bench.jar control-plane [workflows] [markdown-out]",
      "       java -jar torpor-bench.jar cluster [workflows] [cycles] [kills] [markdown-out]",
      "  --quick   small sizes, without the control-plane and cluster parts (what the test suite runs)",
      "  -Dtorpor.bench.density=N, -Dtorpor.bench.densityNoAslr=N   workflows suspended in the density part"
          + " (default 10000, and the same with --no-aslr)",
      "  -Dtorpor.bench.serverJvmOptions=\"...\"   more options for every server JVM started (a profiler's)",
      "  -Dtorpor.bench.javaOpts=\"...\"   more options for the snapshot and density parts' workflow JVMs (to measure flags)",
      "  -Dtorpor.bench.churnMiB=N   the snapshot part's workflow builds and drops N MiB before each wait");

  /** What to run: sizes of each part. */
  record Plan(boolean quick, String[] snapshotArgs, HistoryBenchmark.Options history, int density, int dedupSample,
      String[] controlPlaneArgs, String[] clusterArgs) {
    static Plan fullPlan() {
      return new Plan(false, new String[] {"25", "3", null, "--s3"}, HistoryBenchmark.Options.FULL,
          Integer.getInteger("torpor.bench.density", 10_000), 100,
          new String[] {"1000", null}, new String[] {"24", "20", "5", null});
    }

    static Plan quickPlan() {
      return new Plan(true, new String[] {"8", "1", null}, HistoryBenchmark.Options.QUICK, 20, 10, null, null);
    }
  }

  /** Issue #15: suspend+resume cycles per second on one server. */
  static final double CYCLES_TARGET_PER_S = 30;

  private Bench() {}

  public static void main(String[] args) throws Exception {
    System.exit(run(args));
  }

  static int run(String[] args) throws Exception {
    if (args.length > 0 && !args[0].startsWith("-")) {
      String[] rest = Arrays.copyOfRange(args, 1, args.length);
      switch (args[0]) {
        case "snapshot":
          return SnapshotBenchmark.execute(rest).code();
        case "control-plane":
          return ControlPlaneBenchmark.execute(rest);
        case "cluster":
          ClusterBenchmark.main(rest);
          return 0;
        case "all":
          return all(rest);
        default:
          if (Character.isDigit(args[0].charAt(0))) {
            return SnapshotBenchmark.execute(args).code();
          }
          System.err.println("unknown benchmark '" + args[0] + "'\n" + USAGE);
          return 2;
      }
    }
    return all(args);
  }

  private static int all(String[] args) throws Exception {
    boolean quick = false;
    Path out = Path.of("docs");
    for (String a : args) {
      if (a.equals("--quick")) {
        quick = true;
      } else if (a.startsWith("--out=")) {
        out = Path.of(a.substring("--out=".length()));
      } else if (a.equals("-h") || a.equals("--help")) {
        System.out.println(USAGE);
        return 0;
      } else {
        System.err.println("unknown argument '" + a + "'\n" + USAGE);
        return 2;
      }
    }
    return new Report(quick ? Plan.quickPlan() : Plan.fullPlan(), out, args).run();
  }

  /** One run of everything, and its report. */
  static final class Report {
    final Plan plan;
    final Path out;
    final Path assets;
    final String[] args;
    final List<String> problems = new ArrayList<>();
    final Map<String, String> sections = new LinkedHashMap<>();
    final List<String[]> summary = new ArrayList<>();
    final List<String> charts = new ArrayList<>();
    /** The summary of the report this run replaces (figure, value), if there is one. */
    Map<String, String> previous = Map.of();

    Report(Plan plan, Path out, String[] args) {
      this.plan = plan;
      this.out = out;
      this.assets = out.resolve("benchmarks");
      this.args = args;
    }

    int run() throws Exception {
      long t0 = System.nanoTime();
      previous = previousSummary(assets);
      ZonedDateTime started = ZonedDateTime.now(ZoneOffset.UTC);
      Files.createDirectories(assets);
      Path scratch = Files.createTempDirectory("torpor-bench-report-");
      Map<String, String> machine = SnapshotBenchmark.machine(CriuEngine.locate(), scratch);
      machine.remove("date");
      machine.remove("image store");
      List<String> parts = new ArrayList<>(List.of("snapshot", "history", "density"));
      if (plan.controlPlaneArgs() != null) {
        parts.add("control-plane");
      }
      if (plan.clusterArgs() != null) {
        parts.add("cluster");
      }
      try {
        for (int i = 0; i < parts.size(); i++) {
          String name = parts.get(i);
          try {
            switch (name) {
              case "snapshot" -> snapshot(scratch);
              case "history" -> history();
              case "density" -> density();
              case "control-plane" -> controlPlane(scratch);
              default -> cluster(scratch);
            }
          } catch (Exception e) {
            // One part's failure costs its own figures, not the parts after it nor the report.
            problems.add("the " + name + " part failed: " + e);
            System.err.println("torpor-bench: the " + name + " part failed, going on with the next:");
            e.printStackTrace();
          }
          if (i < parts.size() - 1) {
            // Written after every part, so that a run cut short still leaves what it measured.
            write(render(machine, started, Duration.ofNanos(System.nanoTime() - t0), parts.subList(i + 1, parts.size())));
          }
        }
      } finally {
        SnapshotBenchmark.deleteTree(scratch);
      }
      Duration took = Duration.ofNanos(System.nanoTime() - t0);
      int tables = write(render(machine, started, took, List.of()));
      System.out.println();
      summary.forEach(r -> System.out.println(String.join(" | ", r)));
      log(String.format(Locale.ROOT, "wrote %s, %d CSV tables and %d charts under %s in %d min %d s",
          out.resolve("benchmarks.md"), tables, charts.size(), assets, took.toMinutes(), took.toSecondsPart()));
      problems.forEach(p -> System.err.println("torpor-bench: problem: " + p));
      return problems.isEmpty() ? 0 : 1;
    }

    /** Writes the report and its tables' CSV files; returns how many tables. */
    private int write(String md) throws IOException {
      Files.writeString(out.resolve("benchmarks.md"), md, StandardCharsets.UTF_8);
      return Csv.writeTables(md, assets);
    }

    // ----- the parts -----

    private void snapshot(Path scratch) throws IOException {
      Path md = scratch.resolve("snapshot.md");
      String[] a = plan.snapshotArgs().clone();
      a[2] = md.toString();
      log("part 1: the snapshot benchmark, " + String.join(" ", Arrays.copyOf(a, 2)));
      SnapshotBenchmark.Outcome o = SnapshotBenchmark.execute(a);
      if (o.code() != 0) {
        problems.add("the snapshot benchmark exited with " + o.code());
      }
      sections.put("Snapshot engine (issues #2 and #4): suspend and resume of one workflow",
          intro("snapshot") + demote(read(md)));
      for (Map.Entry<StoreVariant, List<Sample>> e : o.samples().entrySet()) {
        List<Sample> m = SnapshotBenchmark.measured(e.getValue());
        Stats s = SnapshotBenchmark.stats(m, Sample::suspendMillis);
        Stats r = SnapshotBenchmark.stats(m, Sample::resumeMillis);
        Stats packed = SnapshotBenchmark.stats(m, x -> x.packedBytes() / 1e6);
        double[] targets = SnapshotBenchmark.targets(e.getKey());
        summary.add(row("suspend p50 (p95), " + e.getKey().label() + " store, ms", pair(s),
            "≤ " + SnapshotBenchmark.ms(targets[0]), s.median() <= targets[0]));
        summary.add(row("resume p50 (p95), " + e.getKey().label() + " store, ms", pair(r),
            "≤ " + SnapshotBenchmark.ms(targets[1]), r.median() <= targets[1]));
        if (e.getKey() == StoreVariant.LOCAL) {
          againstPrevious("suspend p50 (p95), local store, ms", "suspend", s.median());
          againstPrevious("resume p50 (p95), local store, ms", "resume", r.median());
          summary.add(row("stored per further image of `Cycles`, MB", SnapshotBenchmark.mb(packed.median()),
              "≤ " + SnapshotBenchmark.mb(SnapshotBenchmark.STORED_PER_FURTHER_IMAGE_MB),
              packed.median() <= SnapshotBenchmark.STORED_PER_FURTHER_IMAGE_MB));
          Path png = assets.resolve("phases.png");
          Charts.phases(png, "Where a suspend and a resume go (Cycles, local store, phase medians)",
              SnapshotBenchmark.phases(m, Sample::suspendPhases), SnapshotBenchmark.phases(m, Sample::resumePhases));
          charts.add("phases.png|Suspend and resume phase breakdown");
          Csv.write(assets.resolve("phases.csv"), phaseRows(m));
        }
      }
    }

    private void history() throws IOException, InterruptedException {
      log("part 2: the history benchmark (Torpor and Temporal) and the heap sweep");
      HistoryBenchmark.Result h = HistoryBenchmark.run(plan.history(), problems);
      sections.put("Resume cost against history length (issue #6): Torpor side by side with Temporal",
          intro("history") + h.markdown());
      Charts.resumeVsHistory(assets.resolve("resume-vs-history.png"), h.torpor(), h.temporal());
      charts.add("resume-vs-history.png|Resume latency against history length, Torpor and Temporal (log-log)");
      Charts.resumeVsHeap(assets.resolve("resume-vs-heap.png"), h.heap(), h.temporal());
      charts.add("resume-vs-heap.png|Torpor resume latency against heap held (log-log)");
      List<String[]> rows = new ArrayList<>();
      rows.add(new String[] {"steps", "torpor_resume_p50_ms", "torpor_resume_p95_ms", "torpor_packed_mb",
          "torpor_raw_mb", "temporal_resume_p50_ms", "temporal_resume_p95_ms", "temporal_replay_p50_ms",
          "temporal_replay_p95_ms", "temporal_history_events", "temporal_history_mb"});
      for (TorporPoint p : h.torpor()) {
        TemporalPoint q = h.temporal().stream().filter(x -> x.steps() == p.x()).findFirst().orElse(null);
        rows.add(new String[] {Integer.toString(p.x()), num(p.resume().median()), num(p.resume().p95()),
            num(p.packedMb().median()), num(p.rawMb().median()),
            q == null ? "" : num(q.resume().median()), q == null ? "" : num(q.resume().p95()),
            q == null ? "" : num(q.replay().median()), q == null ? "" : num(q.replay().p95()),
            q == null ? "" : Integer.toString(q.events()), q == null ? "" : num(q.historyMb())});
      }
      Csv.write(assets.resolve("resume-vs-history.csv"), rows);
      List<String[]> heapRows = new ArrayList<>();
      heapRows.add(new String[] {"heap_mib", "resume_p50_ms", "resume_p95_ms", "suspend_p50_ms", "suspend_p95_ms",
          "packed_mb", "raw_mb"});
      for (TorporPoint p : h.heap()) {
        heapRows.add(new String[] {Integer.toString(p.x()), num(p.resume().median()), num(p.resume().p95()),
            num(p.suspend().median()), num(p.suspend().p95()), num(p.packedMb().median()), num(p.rawMb().median())});
      }
      Csv.write(assets.resolve("resume-vs-heap.csv"), heapRows);

      if (h.torpor().size() >= 2) {
        TorporPoint lo = h.torpor().get(0);
        TorporPoint hi = h.torpor().get(h.torpor().size() - 1);
        double ratio = HistoryBenchmark.flatness(h.torpor());
        summary.add(row(String.format(Locale.ROOT, "Torpor resume p50 at N = %,d ÷ at N = %,d", hi.x(), lo.x()),
            String.format(Locale.ROOT, "%.2f× (%s / %s ms)", ratio, SnapshotBenchmark.ms(hi.resume().median()),
                SnapshotBenchmark.ms(lo.resume().median())),
            String.format(Locale.ROOT, "≤ %.1f×", HistoryBenchmark.FLAT_TARGET), ratio <= HistoryBenchmark.FLAT_TARGET));
        h.temporal().stream().filter(q -> q.steps() == hi.x()).findFirst().ifPresent(q -> summary.add(row(
            String.format(Locale.ROOT, "resume p50 at N = %,d: Torpor against Temporal (full replay), ms", hi.x()),
            SnapshotBenchmark.ms(hi.resume().median()) + " against " + SnapshotBenchmark.ms(q.resume().median()),
            "Torpor faster", hi.resume().median() < q.resume().median())));
        h.temporal().stream().filter(q -> q.steps() == lo.x()).findFirst().ifPresent(q -> summary.add(row(
            String.format(Locale.ROOT, "resume p50 at N = %,d: Torpor against Temporal, ms", lo.x()),
            SnapshotBenchmark.ms(lo.resume().median()) + " against " + SnapshotBenchmark.ms(q.resume().median())
                + (q.resume().median() < lo.resume().median() ? " (Temporal wins here)" : ""), "", null)));
        summary.add(row("history length N where the resume curves cross",
            HistoryBenchmark.crossing(h.torpor(), h.temporal()).map(c -> String.format(Locale.ROOT,
                "N ≈ %,.0f: Temporal's replay faster below it", c.steps())).orElse("none in the N measured"),
            "none: Torpor faster at every N", HistoryBenchmark.crossing(h.torpor(), h.temporal()).isEmpty()
                && h.temporal().stream().filter(q -> q.steps() == lo.x()).allMatch(q -> lo.resume().median() < q.resume().median())));
      }
    }

    private void density() throws Exception {
      log("part 3: density, " + plan.density() + " suspended workflows");
      DensityBenchmark.Result d = DensityBenchmark.run(plan.density(), plan.dedupSample(), problems);
      sections.put(String.format(Locale.ROOT, "Density (issue #6): %,d suspended workflows on one machine",
          plan.density()), intro("density") + d.markdown());
      Charts.density(assets.resolve("density.png"), d.points());
      charts.add("density.png|Server RSS and image store against suspended workflows");
      List<String[]> rows = new ArrayList<>();
      rows.add(new String[] {"suspended", "seconds", "server_rss_kb", "store_bytes", "db_bytes", "processes"});
      d.points().forEach(p -> rows.add(new String[] {Integer.toString(p.suspended()), num(p.seconds()),
          Long.toString(p.rssKb()), Long.toString(p.storeBytes()), Long.toString(p.dbBytes()),
          Integer.toString(p.processes())}));
      Csv.write(assets.resolve("density.csv"), rows);
      DensityBenchmark.Point end = d.points().get(d.points().size() - 1);
      double per = d.perWorkflowMb();
      double stretch = DensityBenchmark.STRETCH_BYTES / 1e6;
      summary.add(row(String.format(Locale.ROOT, "stored per suspended workflow (%,d suspended), MB", end.suspended()),
          SnapshotBenchmark.mb(per), "≤ " + SnapshotBenchmark.mb(stretch) + " (stretch)", per <= stretch));
      // The same with --no-aslr: workflow JVMs laid out alike share most pages of their first images.
      int noAslrCount = plan.quick() ? plan.density() : Integer.getInteger("torpor.bench.densityNoAslr", plan.density());
      log("part 3b: density with --no-aslr, " + noAslrCount + " suspended workflows");
      DensityBenchmark.Result n = DensityBenchmark.run(noAslrCount, plan.dedupSample(), problems, List.of("--no-aslr"));
      sections.put(String.format(Locale.ROOT, "Density with `--no-aslr`: %,d suspended workflows on one machine",
          noAslrCount), "The density part again, the server started with `--no-aslr` (workflow JVMs without address"
          + " space layout randomization, so the first images of workflows of one program share chunks through a shared pack; see the"
          + " README for the trade-off).\n\n" + n.markdown());
      double perNoAslr = n.perWorkflowMb();
      DensityBenchmark.Point endNoAslr = n.points().get(n.points().size() - 1);
      summary.add(row(String.format(Locale.ROOT, "stored per suspended workflow (%,d suspended, `--no-aslr`), MB",
          endNoAslr.suspended()), SnapshotBenchmark.mb(perNoAslr), "≤ " + SnapshotBenchmark.mb(stretch) + " (stretch)",
          perNoAslr <= stretch));
      summary.add(row(String.format(Locale.ROOT, "server RSS with %,d suspended, MB", end.suspended()),
          SnapshotBenchmark.mb(end.rssKb() * 1024 / 1e6), "", null));
      summary.add(row("workflow processes resident with all suspended", Integer.toString(end.processes()), "0",
          end.processes() == 0));
    }

    private void controlPlane(Path scratch) throws Exception {
      ControlPlaneBenchmark.Outcome[] o = new ControlPlaneBenchmark.Outcome[1];
      sections.put("Control plane (issue #3): 1,000 workflows on one embedded server",
          intro("control-plane") + child(scratch, "control-plane", plan.controlPlaneArgs(), a -> {
            o[0] = ControlPlaneBenchmark.measure(a);
            return o[0].code();
          }));
      double cycles = o[0] == null ? Double.NaN : o[0].cyclesPerSecond();
      double p99 = o[0] == null ? Double.NaN : o[0].timerLatenessP99Ms();
      // Issue #15's targets for these two; the control-plane section also names issue #3's.
      summary.add(row("suspend+resume cycles per second, one server (`Hello`, busiest 30 s)",
          Double.isNaN(cycles) ? "not measured" : String.format(Locale.ROOT, "%.1f", cycles),
          "≥ " + String.format(Locale.ROOT, "%.0f", CYCLES_TARGET_PER_S), !Double.isNaN(cycles) && cycles >= CYCLES_TARGET_PER_S));
      summary.add(row("timer lateness p99, 1,000 timers due within one minute, ms",
          Double.isNaN(p99) ? "not measured" : SnapshotBenchmark.ms(p99),
          "≤ " + SnapshotBenchmark.ms(ControlPlaneBenchmark.LATENESS_P99_TARGET_MS),
          !Double.isNaN(p99) && p99 <= ControlPlaneBenchmark.LATENESS_P99_TARGET_MS));
    }

    private void cluster(Path scratch) throws Exception {
      sections.put("Cluster (issue #5): wake-ups per second with 1, 2 and 3 workers, and failover",
          intro("cluster") + child(scratch, "cluster", plan.clusterArgs(), a -> {
            ClusterBenchmark.main(a);
            return 0;
          }));
    }

    /** Runs a benchmark that appends its Markdown to a file; returns that Markdown. */
    private String child(Path scratch, String name, String[] template, Part part) throws Exception {
      Path md = scratch.resolve(name + ".md");
      String[] a = template.clone();
      a[Arrays.asList(a).indexOf(null)] = md.toString(); // the plan leaves the report's place empty
      log("part: " + name + " " + String.join(" ", a));
      int code;
      try {
        code = part.run(a);
      } catch (Exception e) {
        // What the part wrote before it stopped still goes into the report, with the problem.
        problems.add("the " + name + " benchmark stopped: " + e);
        System.err.println("torpor-bench: the " + name + " benchmark stopped:");
        e.printStackTrace();
        code = 0;
      }
      if (code != 0) {
        problems.add("the " + name + " benchmark exited with " + code);
      }
      return Files.exists(md) ? demote(read(md)) : "(the " + name + " benchmark wrote no report)\n";
    }

    // ----- the document -----

    private String render(Map<String, String> machine, ZonedDateTime started, Duration took, List<String> toCome) {
      StringBuilder md = new StringBuilder();
      md.append("# Benchmarks\n\n");
      md.append("Everything below, figures, tables, charts and CSV files, was written by one command on the machine "
          + "described, and nothing in it was typed in by hand; the prose that does not depend on the figures sits in "
          + "`bench/src/main/resources/dev/torpor/bench/report/`. To reproduce (as root, on a machine with CRIU "
          + "4.2 or later, PostgreSQL's server binaries and `docs/`'s parent as the working directory):\n\n");
      md.append("```\nmvn -B -ntp -q install -DskipTests\njava -jar bench/target/torpor-bench.jar\n```\n\n");
      md.append(String.format(Locale.ROOT, "This run: `java -jar bench/target/torpor-bench.jar%s`, started %s, took "
          + "%d min %d s%s.%n%n", args.length == 0 ? "" : " " + String.join(" ", args),
          started.format(DateTimeFormatter.ISO_OFFSET_DATE_TIME), took.toMinutes(), took.toSecondsPart(),
          plan.quick() ? "; `--quick`: small sizes, and the control-plane and cluster parts left out" : ""));
      if (!toCome.isEmpty()) {
        md.append("**This run has not finished:** the report is written again after each part; the parts still to come: ")
            .append(String.join(", ", toCome)).append(".\n\n");
      }
      md.append("Machine:\n\n");
      machine.forEach((k, v) -> md.append("- ").append(k).append(": ").append(v).append('\n'));
      md.append('\n');
      md.append("## Summary\n\n");
      SnapshotBenchmark.Table t = new SnapshotBenchmark.Table("figure", "this run", "target", "verdict");
      summary.forEach(t::row);
      md.append(t).append('\n');
      md.append(intro("fairness"));
      md.append("Charts (PNG, drawn by the same command with XChart; their data in the CSV files beside them):\n\n");
      for (String c : charts) {
        String[] f = c.split("\\|", 2);
        md.append("- [").append(f[1]).append("](benchmarks/").append(f[0]).append(")\n");
      }
      md.append('\n');
      for (String c : charts) {
        String[] f = c.split("\\|", 2);
        md.append("![").append(f[1]).append("](benchmarks/").append(f[0]).append(")\n\n");
      }
      if (!problems.isEmpty()) {
        md.append("**Problems in this run:**\n\n");
        problems.forEach(p -> md.append("- ").append(p).append('\n'));
        md.append('\n');
      }
      sections.forEach((title, body) -> md.append("## ").append(title).append("\n\n").append(body.strip())
          .append("\n\n"));
      return md.toString().strip() + "\n";
    }

    /**
     * Issue #11: workflows run unprivileged in their own namespaces and every API request carries
     * a token; suspend and resume should stay within 5% of the report this run replaces.
     */
    private void againstPrevious(String figure, String what, double now) {
      String before = previous.get(figure);
      if (before == null) {
        return;
      }
      double was;
      try {
        was = Double.parseDouble(before.split(" ", 2)[0]);
      } catch (NumberFormatException e) {
        return;
      }
      double change = (now - was) / was;
      summary.add(row(String.format(Locale.ROOT, "%s p50, local store, against the previous report (%s ms)", what,
          SnapshotBenchmark.ms(was)), String.format(Locale.ROOT, "%+.1f%% (%s ms)", change * 100, SnapshotBenchmark.ms(now)),
          "≤ +5.0%", change <= 0.05));
    }

    /** The figures of {@code assets/tables/summary-1.csv}, written by the previous full run. */
    static Map<String, String> previousSummary(Path assets) {
      Path csv = assets.resolve("tables").resolve("summary-1.csv");
      Map<String, String> m = new LinkedHashMap<>();
      try {
        if (Files.exists(csv)) {
          for (String[] r : Csv.read(csv)) {
            if (r.length >= 2) {
              m.put(r[0], r[1]);
            }
          }
        }
      } catch (IOException e) {
        System.err.println("torpor-bench: cannot read the previous summary " + csv + ": " + e.getMessage());
      }
      return m;
    }

    private static String[] row(String figure, String value, String target, Boolean met) {
      return new String[] {figure, value, target, met == null ? "" : met ? "met" : "**missed**"};
    }

    private static String pair(Stats s) {
      return SnapshotBenchmark.ms(s.median()) + " (" + SnapshotBenchmark.ms(s.p95()) + ")";
    }

    private static List<String[]> phaseRows(List<Sample> m) {
      List<String[]> rows = new ArrayList<>();
      rows.add(new String[] {"part", "phase", "median_ms", "p95_ms"});
      SnapshotBenchmark.phases(m, Sample::suspendPhases).forEach((k, v) ->
          rows.add(new String[] {"suspend", k, num(v.median()), num(v.p95())}));
      SnapshotBenchmark.phases(m, Sample::resumePhases).forEach((k, v) ->
          rows.add(new String[] {"resume", k, num(v.median()), num(v.p95())}));
      return rows;
    }
  }

  @FunctionalInterface
  interface Part {
    int run(String[] args) throws Exception;
  }

  /** A section's fixed prose, from {@code report/NAME.md} beside this class. */
  static String intro(String name) {
    try (var in = Bench.class.getResourceAsStream("report/" + name + ".md")) {
      if (in == null) {
        throw new IllegalStateException("no report/" + name + ".md beside " + Bench.class.getName());
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8).strip() + "\n\n";
    } catch (IOException e) {
      throw new IllegalStateException("cannot read report/" + name + ".md", e);
    }
  }

  /**
   * A part's Markdown under the report's own heading for it: its first heading (the part's
   * title and date) dropped, its other headings one level down.
   */
  static String demote(String md) {
    List<String> out = new ArrayList<>();
    for (String line : md.split("\n", -1)) {
      if (line.startsWith("## ") && out.stream().allMatch(String::isBlank)) {
        continue;
      }
      if (line.startsWith("Command: `java ")) {
        continue; // a part's own command line: the report's is the one command at the top
      }
      out.add(line.startsWith("#") ? "#" + line : line);
    }
    return String.join("\n", out).strip() + "\n";
  }

  private static String read(Path p) throws IOException {
    return Files.exists(p) ? Files.readString(p, StandardCharsets.UTF_8) : "";
  }

  static String num(double v) {
    return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.3f", v);
  }

  private static void log(String msg) {
    System.err.println("torpor-bench: " + msg);
  }
}
