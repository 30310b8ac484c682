package dev.torpor.bench;

import static dev.torpor.bench.SnapshotBenchmark.mb;

import dev.torpor.bench.SnapshotBenchmark.Table;
import dev.torpor.storage.ImageKey;
import dev.torpor.storage.ImageStore;
import dev.torpor.storage.LocalDirectoryImageStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The density benchmark (issue #6): many suspended workflows on one machine. Starts a real
 * {@code torpor server} ({@link BenchServer}: embedded H2 registry, Quartz, local image store),
 * submits {@code count} {@code Hello} workflows that each wait ten days, at most {@code
 * --max-running} unsuspended at a time, and once all are suspended reports the bytes stored per
 * suspended workflow, the server's RSS and the workflow processes left resident (there should
 * be none), with the same figures at every tenth of the way; then what page deduplication
 * across the images would store instead ({@link PageDedup}, over an evenly spaced sample).
 */
final class DensityBenchmark {
  static final String HELLO = "dev.torpor.examples.Hello";
  private static final String EMBEDDED_WORKFLOW_JAR = "/dev/torpor/bench/workflow/torpor-examples.jar";
  static final int SLOTS = 8;
  /** Issue #6's stretch target: bytes stored per additional suspended workflow of the same app. */
  static final double STRETCH_BYTES = 1e6;
  private static final long STALL_MS = 300_000;

  /** One point on the way: after {@code suspended} workflows. */
  record Point(int suspended, double seconds, long rssKb, long storeBytes, long dbBytes, int processes) {}

  record Result(String markdown, List<Point> points, List<PageDedup.PerImage> dedup) {
    /** Images stored per suspended workflow at the end, MB. */
    double perWorkflowMb() {
      return DensityBenchmark.perWorkflowMb(points);
    }
  }

  /** Images stored per suspended workflow, MB: the growth of the store from the first point to the last. */
  static double perWorkflowMb(List<Point> points) {
    Point start = points.get(0);
    Point end = points.get(points.size() - 1);
    return (end.storeBytes() - start.storeBytes()) / 1e6 / Math.max(1, end.suspended());
  }

  /** The figures with {@code suspended} workflows suspended, {@code seconds} into the run. */
  private static Point probe(BenchServer server, Path data, int suspended, double seconds) throws IOException {
    return new Point(suspended, seconds, server.statusKb("VmRSS"), ControlPlaneBenchmark.bytes(data.resolve("store")),
        ControlPlaneBenchmark.bytes(data.resolve("db")), server.workflowProcesses().size());
  }

  private DensityBenchmark() {}

  static Result run(int count, int dedupSample, List<String> problems) throws Exception {
    return run(count, dedupSample, problems, List.of());
  }

  /** As {@link #run(int, int, List)}, with {@code serverArgs} added to the server's command (e.g. {@code --no-aslr}). */
  static Result run(int count, int dedupSample, List<String> problems, List<String> serverArgs) throws Exception {
    Path cliJar = BenchServer.cliJar();
    Path dir = Files.createTempDirectory(Path.of("/tmp"), "torpor-density-");
    Path runBase = Files.createTempDirectory(Path.of("/tmp"), "td");
    Path data = dir.resolve("data");
    Files.createDirectories(data);
    List<Point> points = new ArrayList<>();
    boolean complete = false;
    BenchServer server = null;
    try {
      Path examples = BenchServer.examplesJar(dir.resolve("upload"), EMBEDDED_WORKFLOW_JAR);
      List<String> args = new ArrayList<>(List.of("--max-running", Integer.toString(SLOTS)));
      args.addAll(serverArgs);
      server = BenchServer.start(cliJar, data, runBase, dir, args);
      String app = server.uploadApp(examples);
      log("density: server pid " + server.pid() + "; submitting " + count + " workflows, " + SLOTS + " at a time");
      long t0 = System.nanoTime();
      points.add(probe(server, data, 0, 0));
      int submitted = 0;
      int step = Math.max(1, count / 10);
      int nextPoint = step;
      long lastProgress = System.currentTimeMillis();
      int lastInFlight = -1;
      List<String> ids = new ArrayList<>();
      while (true) {
        int inFlight = server.count("PENDING") + server.count("RUNNING");
        int suspended = submitted - inFlight;
        if (server.count("FAILED") > 0 || !server.alive()) {
          throw new IOException("a workflow failed or the server stopped: " + server.list("FAILED") + " "
              + server.serverErr());
        }
        if (suspended >= nextPoint && suspended < count) {
          Point p = probe(server, data, suspended, (System.nanoTime() - t0) / 1e9);
          points.add(p);
          log(String.format(Locale.ROOT, "density: %d suspended after %.0f s, server RSS %.0f MB", suspended,
              p.seconds(), p.rssKb() * 1024 / 1e6));
          nextPoint = (suspended / step + 1) * step;
        }
        if (submitted == count && inFlight == 0) {
          break;
        }
        if (inFlight != lastInFlight || submitted < count) {
          lastProgress = System.currentTimeMillis();
          lastInFlight = inFlight;
        } else if (System.currentTimeMillis() - lastProgress > STALL_MS) {
          throw new IOException(inFlight + " workflows pending or running for " + STALL_MS / 1000 + " s");
        }
        for (int i = inFlight; i < SLOTS && submitted < count; i++) {
          String id = String.format(Locale.ROOT, "d%05d", submitted);
          server.submit(id, app, HELLO, List.of("864000"), SnapshotBenchmark.workflowJavaOptions());
          ids.add(id);
          submitted++;
        }
        Thread.sleep(50);
      }
      double seconds = (System.nanoTime() - t0) / 1e9;
      int notSuspended = 0;
      for (String id : ids) {
        if (!server.status(id).path("state").asText().equals("SUSPENDED")) {
          notSuspended++;
        }
      }
      if (notSuspended > 0) {
        problems.add("density: " + notSuspended + " of " + count + " workflows were not SUSPENDED at the end");
      }
      long quietBy = System.nanoTime() + TimeUnit.SECONDS.toNanos(10); // the last JVMs' exit after their SUSPENDED
      while (!server.workflowProcesses().isEmpty() && System.nanoTime() < quietBy) {
        Thread.sleep(100);
      }
      points.add(probe(server, data, count, seconds));
      long dataBytes = ControlPlaneBenchmark.bytes(data);
      server.close();
      server = null;

      List<PageDedup.PerImage> dedup = new ArrayList<>();
      ImageStore store = new LocalDirectoryImageStore(data.resolve("store"));
      List<ImageKey> sample = new ArrayList<>();
      for (int i = 0; i < dedupSample && i < ids.size(); i++) {
        String id = ids.get((int) ((long) i * ids.size() / Math.min(dedupSample, ids.size())));
        store.latest(id).ifPresent(m -> sample.add(m.key()));
      }
      log("density: page deduplication over " + sample.size() + " images");
      dedup.addAll(PageDedup.over(store, sample));
      store.close();
      complete = notSuspended == 0;
      return new Result(report(count, seconds, points, dataBytes, dedup, notSuspended), points, dedup);
    } finally {
      if (server != null) {
        server.close();
      }
      if (complete || !Boolean.getBoolean("torpor.bench.keep")) {
        SnapshotBenchmark.deleteTree(dir);
        SnapshotBenchmark.deleteTree(runBase);
      } else {
        log("kept " + dir + " for inspection");
      }
    }
  }

  static String report(int count, double seconds, List<Point> points, long dataBytes,
      List<PageDedup.PerImage> dedup, int notSuspended) {
    Point end = points.get(points.size() - 1);
    Point start = points.get(0);
    StringBuilder out = new StringBuilder();
    out.append(String.format(Locale.ROOT, "Workload: %,d `Hello` workflows (one `Durable.waitFor(10 days)` each) "
        + "submitted over the HTTP API of one `torpor server` (embedded H2 registry, Quartz, local image store, "
        + "`--max-running %d`), at most %d unsuspended at a time; all %,d suspended after %.0f s (%.1f per second, "
        + "JVM start, dump and pack included)%s.%n%n", count, SLOTS, SLOTS, count, seconds, count / seconds,
        notSuspended == 0 ? "" : "; " + notSuspended + " were NOT suspended at the end"));
    Table t = new Table("suspended workflows", "seconds", "server RSS, MB", "image store, MB", "per workflow, MB",
        "H2 registry, MB", "workflow JVMs resident (in flight while submitting)");
    for (Point p : points) {
      t.row(String.format(Locale.ROOT, "%,d", p.suspended()), String.format(Locale.ROOT, "%.0f", p.seconds()),
          mb(p.rssKb() * 1024 / 1e6),
          mb(p.storeBytes() / 1e6), p.suspended() == 0 ? "–" : mb(p.storeBytes() / 1e6 / p.suspended()),
          mb(p.dbBytes() / 1e6), Integer.toString(p.processes()));
    }
    out.append(t).append('\n');
    double perWorkflow = perWorkflowMb(points);
    double regPerWorkflowKb = (dataBytes - end.storeBytes()) / 1e3 / Math.max(1, end.suspended());
    out.append(String.format(Locale.ROOT, "With all %,d suspended: server RSS %s MB (%s MB at start, %s kB more per "
        + "suspended workflow), %d workflow processes resident, %s MB of images per suspended workflow, %.1f kB of "
        + "registry, Quartz and logs per workflow (H2 database %s MB); data directory %s MB in all.%n%n",
        end.suspended(), mb(end.rssKb() * 1024 / 1e6), mb(start.rssKb() * 1024 / 1e6),
        String.format(Locale.ROOT, "%.1f", (end.rssKb() - start.rssKb()) / (double) Math.max(1, end.suspended())),
        end.processes(), mb(perWorkflow), regPerWorkflowKb, mb(end.dbBytes() / 1e6), mb(dataBytes / 1e6)));
    if (!dedup.isEmpty()) {
      int skip = Math.min(10, dedup.size() / 2);
      List<PageDedup.PerImage> later = dedup.subList(skip, dedup.size());
      Stats raw = Stats.of(dedup.stream().map(d -> d.rawBytes() / 1e6).toList());
      Stats newRaw = Stats.of(later.stream().map(d -> d.newRawBytes() / 1e6).toList());
      Stats newPacked = Stats.of(later.stream().map(d -> d.newPackedBytes() / 1e6).toList());
      double first = dedup.get(0).newPackedBytes() / 1e6;
      out.append(String.format(Locale.ROOT, "Page deduplication across images (not built; estimated over %d of the "
          + "images, evenly spaced): an image is %s MB raw; the first one would store %s MB packed; each further one "
          + "only the 4 KiB pages no earlier image had, plus its non-page files: %s MB raw, %s MB packed at the "
          + "median (p95 %s MB) over images %d to %d, against %s MB packed today.%n%n", dedup.size(),
          mb(raw.median()), mb(first), mb(newRaw.median()), mb(newPacked.median()), mb(newPacked.p95()), skip + 1,
          dedup.size(), mb(perWorkflow)));
      out.append(String.format(Locale.ROOT, "- stretch target ≤ %s MB stored per additional suspended workflow: today "
          + "%s MB, %s; with page deduplication %s MB, %s%n", mb(STRETCH_BYTES / 1e6), mb(perWorkflow),
          perWorkflow <= STRETCH_BYTES / 1e6 ? "met" : "MISSED", mb(newPacked.median()),
          newPacked.median() <= STRETCH_BYTES / 1e6 ? "would be met" : "would still be missed"));
    }
    out.append(String.format(Locale.ROOT, "- zero workflow processes resident with all suspended: %s (%d)%n",
        end.processes() == 0 ? "met" : "MISSED", end.processes()));
    return out.toString();
  }

  private static void log(String msg) {
    System.err.println("torpor-bench: " + msg);
  }
}
