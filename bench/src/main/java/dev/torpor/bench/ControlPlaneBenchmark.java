package dev.torpor.bench;

import static dev.torpor.bench.SnapshotBenchmark.mb;
import static dev.torpor.bench.SnapshotBenchmark.ms;
import static dev.torpor.bench.SnapshotBenchmark.pct;

import com.fasterxml.jackson.databind.JsonNode;
import dev.torpor.bench.EventRates.Interval;
import dev.torpor.bench.EventRates.Window;
import dev.torpor.bench.SnapshotBenchmark.Table;
import dev.torpor.launcher.internal.CriuEngine;
import dev.torpor.scheduler.internal.StatementCounter;
import dev.torpor.scheduler.internal.StatementCounter.Counts;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.ToLongFunction;
import java.util.stream.Stream;

/**
 * The control-plane benchmark (issue #3): timer lateness with many workflows whose timers fall
 * due within the same minute, the wake-ups per second one embedded {@code torpor server}
 * sustains, and the server's memory and disk with all of them suspended.
 *
 * <p>Usage, from the project root after {@code mvn install -DskipTests}:
 *
 * <pre>
 * java -cp bench/target/torpor-bench.jar dev.torpor.bench.ControlPlaneBenchmark [workflows] [markdown-out]
 * </pre>
 *
 * {@code workflows} defaults to 1000 (at most 1000: the HTTP API lists at most 1000 workflows at
 * a time); {@code markdown-out}, if given, gets the report appended as a Markdown section. Needs
 * root and CRIU, like {@code torpor server}. With 1000 workflows on 2 cores a run takes about
 * 10 to 15 minutes (mostly starting 1000 JVMs, about 0.3 s each with 8 at a time) and needs about
 * 5.5 GB in /tmp for the images (about 5 MB each); a trial with 40 takes two minutes. The report
 * goes to stdout, progress to stderr. System properties:
 *
 * <ul>
 *   <li>{@code -Dtorpor.cli.jar=PATH}: the {@code torpor.jar} to run as the server (default
 *       {@code launcher/target/torpor.jar} under the working directory or next to this jar's module);
 *   <li>{@code -Dtorpor.bench.keep=true}: keep the data and run directories (and the server's
 *       output) in /tmp for inspection;
 *   <li>{@code -Dtorpor.bench.spread=SECONDS} (0 to 60, default 60): the timers fall due evenly
 *       over this many seconds, at most 58, centred in the intended minute (0: all at once);
 *   <li>{@code -Dtorpor.bench.warmup=N} (default 20, at most the workflow count): calibration
 *       workflows, see below;
 *   <li>{@code -Dtorpor.bench.maxRunning=N}: passes {@code --max-running N} to the server (default:
 *       the server's own default, 8);
 *   <li>{@code -Dtorpor.bench.javaOptions="..."}: options for the workflow JVMs (default none);
 *   <li>{@code -Dtorpor.bench.statementCycles=N} (1 to 100, default 10): workflows of the statements
 *       phase, see below.
 * </ul>
 *
 * <p>What it does: starts a real server process as the launcher's {@code ServerProcess} test
 * helper does ({@code java -Xmx256m -XX:+UseSerialGC -jar torpor.jar server --data D --run-dir R
 * --listen 127.0.0.1:PORT --quiet}, {@code MALLOC_ARENA_MAX=2}), uploads the examples jar
 * ({@code POST /v1/apps}) and runs {@code dev.torpor.examples.Hello}, which waits the number of
 * seconds given as its argument and exits.
 *
 * <ol>
 *   <li><b>Calibration.</b> {@code warmup} Hello workflows (waiting an hour) are submitted at
 *       most max-running unsuspended at a time; from their histories come the median delay from
 *       submission to the wait call and the start-up pace (seconds per workflow). They are then
 *       cancelled.
 *   <li><b>Submission.</b> The first timer is due after the extrapolated start-up time of all
 *       workflows (with 25% and 15 s to spare, at least 30 s); the timers then fall due evenly
 *       over the spread (at most 58 s), centred in the intended minute ({@link DueSchedule}).
 *       Workflow i is submitted, again at most max-running unsuspended at a time so that it
 *       starts at once, with the wait that puts its timer at its due instant (its argument: that
 *       instant minus now minus the calibrated submit-to-wait delay, in whole seconds, at least 1).
 *   <li><b>All suspended.</b> Once none is pending or running: the server's RSS
 *       ({@code /proc/PID/status} VmRSS), the bytes of the store and of the whole data
 *       directory, and how many processes run in a workflow run directory (should be 0).
 *   <li><b>Wake-ups.</b> The timers fire; every 0.5 s the server's RSS, its CPU time, the
 *       machine's CPU time and the number of running workflows are sampled until all have
 *       completed.
 *   <li><b>Histories.</b> For each workflow, {@code GET /v1/workflows/{id}/history}: timer
 *       lateness is WAKING's time minus the {@code wakeAt} in SUSPENDED's details; resume
 *       lateness is RESUMED's time minus {@code wakeAt}. A slot (one of max-running) is taken
 *       from STARTED to SUSPENDED and from WAKING to COMPLETED, which says, for each wake,
 *       whether all slots were busy when its timer fell due.
 *   <li><b>Statements</b> (issue #12). The server runs with {@code -Dtorpor.db.statementCounts}
 *       ({@code StatementCounter}): {@code statementCycles} Hello workflows waiting 5 s, one at a
 *       time on the idle server, give the exact database statements per suspend+resume cycle
 *       (Torpor's and Quartz's, to SUSPENDED and after); the main run's wake phase gives them
 *       under load, when wakes that find every slot busy are retried.
 * </ol>
 *
 * <p>Exits 0 when every workflow completed (whether or not the targets are met), 1 otherwise,
 * 2 on bad usage.
 */
public final class ControlPlaneBenchmark {
  static final double LATENESS_P99_TARGET_MS = 1000;
  static final double CYCLES_TARGET_PER_S = 10;
  /** 512 MB, in decimal megabytes like every other figure here (stricter than 512 MiB). */
  static final double RSS_TARGET_BYTES = 512e6;

  static final int DEFAULT_WORKFLOWS = 1000;
  static final int MAX_WORKFLOWS = 1000; // GET /v1/workflows returns at most 1000
  static final int SERVER_DEFAULT_MAX_RUNNING = 8;
  static final long WINDOW_MS = 30_000;
  static final String HELLO = "dev.torpor.examples.Hello";
  static final String USAGE =
      "usage: java -cp torpor-bench.jar dev.torpor.bench.ControlPlaneBenchmark [workflows (default 1000, at most 1000)] [markdown-out]";

  private static final String EMBEDDED_WORKFLOW_JAR = "/dev/torpor/bench/workflow/torpor-examples.jar";
  private static final String WARM_PREFIX = "warm-";
  private static final String MAIN_PREFIX = "cp-";
  private static final String STATEMENTS_PREFIX = "st-";
  /**
   * The statement workflows' wait: long enough that the counts settle after the suspend before
   * Quartz acquires the wake's trigger (up to 1 s ahead of its time), so the two halves part cleanly.
   */
  static final int STATEMENT_WAIT_S = 5;
  private static final long POLL_MS = 100;
  private static final long SAMPLE_MS = 500;
  /** Give up when nothing moves for this long. */
  private static final long STALL_MS = 300_000;

  record Options(int workflows, Path markdown, int warmup, int spreadSeconds, Integer maxRunning, List<String> javaOptions,
      int statementCycles) {
    static Options parse(String[] args) {
      if (args.length > 2) {
        throw new IllegalArgumentException("too many arguments\n" + USAGE);
      }
      int n = args.length > 0 ? intIn(args[0], "workflows", 1, MAX_WORKFLOWS) : DEFAULT_WORKFLOWS;
      Path md = args.length > 1 ? Path.of(args[1]) : null;
      int warmup = intIn(System.getProperty("torpor.bench.warmup", Integer.toString(Math.min(20, n))),
          "-Dtorpor.bench.warmup", 1, n);
      int spread = intIn(System.getProperty("torpor.bench.spread", "60"), "-Dtorpor.bench.spread", 0, 60);
      String mr = System.getProperty("torpor.bench.maxRunning");
      Integer maxRunning = mr == null || mr.isBlank() ? null : intIn(mr, "-Dtorpor.bench.maxRunning", 1, 1000);
      String jo = System.getProperty("torpor.bench.javaOptions", "").strip();
      List<String> javaOptions = jo.isEmpty() ? List.of() : List.of(jo.split("\\s+"));
      int statementCycles = intIn(System.getProperty("torpor.bench.statementCycles", "10"),
          "-Dtorpor.bench.statementCycles", 1, 100);
      return new Options(n, md, warmup, spread, maxRunning, javaOptions, statementCycles);
    }

    int slots() {
      return maxRunning == null ? SERVER_DEFAULT_MAX_RUNNING : maxRunning;
    }

    private static int intIn(String s, String what, int min, int max) {
      try {
        int n = Integer.parseInt(s.strip());
        if (n >= min && n <= max) {
          return n;
        }
      } catch (NumberFormatException e) {
        // reported below
      }
      throw new IllegalArgumentException(what + " must be a whole number from " + min + " to " + max + ": '" + s + "'\n" + USAGE);
    }
  }

  /** One sample of the server and the machine. */
  record Probe(long atMs, long rssKb, long machineBusyTicks, long machineTotalTicks, long serverTicks) {}

  /** A workflow as submitted. */
  record Submitted(String id, long submitMs, long waitSeconds, long intendedDueMs) {}

  /** What a workflow's history says; times in epoch ms, -1 when the event is missing. */
  record Observed(String id, String finalState, long submittedMs, long startedMs, long suspendedMs, long wakeAtMs,
      long wakingMs, long resumedMs, long endMs) {
    boolean complete() {
      return "COMPLETED".equals(finalState) && suspendedMs >= 0 && wakeAtMs >= 0 && wakingMs >= 0 && resumedMs >= 0
          && endMs >= 0;
    }
  }

  /** Sizes of the data directory at one moment, in bytes. */
  record Disk(long data, long dataAllocated, long store, long mainImages, long warmImages, long db, long logs, long runDir) {}

  private final Options options;
  private final List<String> problems = Collections.synchronizedList(new ArrayList<>());
  private final List<Probe> probes = Collections.synchronizedList(new ArrayList<>());
  private final List<long[]> running = new ArrayList<>(); // [atMs, workflows RUNNING] during the wake phase
  private final AtomicBoolean cleanedUp = new AtomicBoolean();
  private final long clockTicks = clockTicksPerSecond();

  private Path benchDir;
  /** Issue #15's two figures, NaN until the report measures them. */
  private double cyclesPerSecond = Double.NaN;
  private double timerLatenessP99Ms = Double.NaN;
  private Path runBase;
  private BenchServer server;
  private ScheduledExecutorService sampler;
  private int leftoverProcesses = -1;
  /** The server's statement counts file ({@link StatementCounter}). */
  private Path counts;
  /** Statements from all suspended to all completed in the main run, and how long that took. */
  private Counts mainWakes;
  private double mainWakeSeconds;
  private StatementRun statementRun;

  private ControlPlaneBenchmark(Options options) {
    this.options = options;
  }

  public static void main(String[] args) {
    if (Stream.of(args).anyMatch(a -> a.equals("-h") || a.equals("--help"))) {
      System.out.println(USAGE);
      return;
    }
    System.exit(execute(args));
  }

  /** Runs the benchmark as {@link #main} does; returns the exit code instead of exiting. */
  static int execute(String[] args) {
    return measure(args).code();
  }

  /**
   * The exit code and the two figures issue #15 sets targets for, for the one benchmark command's
   * summary: suspend+resume cycles per second (busiest 30 s) and the p99 timer lateness in ms,
   * each NaN when the run stopped before it was measured.
   */
  record Outcome(int code, double cyclesPerSecond, double timerLatenessP99Ms) {}

  /** Runs the benchmark as {@link #execute} does; returns its figures with the exit code. */
  static Outcome measure(String[] args) {
    ControlPlaneBenchmark b;
    try {
      b = new ControlPlaneBenchmark(Options.parse(args));
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      return new Outcome(2, Double.NaN, Double.NaN);
    }
    int code;
    try {
      code = b.run();
    } catch (Exception e) {
      System.err.println("torpor-bench: " + e);
      e.printStackTrace();
      code = 1;
    }
    return new Outcome(code, b.cyclesPerSecond, b.timerLatenessP99Ms);
  }

  private int run() throws Exception {
    Path cliJar = BenchServer.cliJar();
    benchDir = Files.createTempDirectory(Path.of("/tmp"), "torpor-cpbench-");
    runBase = Files.createTempDirectory(Path.of("/tmp"), "tc"); // short: unix socket paths live under it
    Path data = benchDir.resolve("data");
    Files.createDirectories(data);
    Thread hook = new Thread(this::cleanUp, "torpor-bench-cleanup");
    Runtime.getRuntime().addShutdownHook(hook);
    boolean complete = false;
    try {
      Path examples = BenchServer.examplesJar(benchDir.resolve("upload"), EMBEDDED_WORKFLOW_JAR);
      List<String> extra = options.maxRunning() == null ? List.of() : List.of("--max-running", options.maxRunning().toString());
      log("starting the server (" + cliJar + "), data " + data + ", run dir " + runBase);
      counts = benchDir.resolve("statement-counts");
      server = BenchServer.start(cliJar, data, runBase, benchDir, extra, Map.of(),
          List.of("-D" + StatementCounter.PROPERTY + "=" + counts));
      log("server pid " + server.pid() + " on " + server.url());
      sampler = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "torpor-bench-sampler");
        t.setDaemon(true);
        return t;
      });
      sampler.scheduleAtFixedRate(this::probe, 0, SAMPLE_MS, TimeUnit.MILLISECONDS);
      String app = server.uploadApp(examples);
      log("uploaded " + examples.getFileName() + " as app " + app.substring(0, 12) + "...");

      Calibration cal = calibrate(app);
      Disk beforeMain = disk(data);
      long mainStart = System.currentTimeMillis();
      long estimate = Math.round(1.25 * options.workflows() * cal.perWorkflowMs() + cal.callDelayMs() + 15_000);
      DueSchedule due = DueSchedule.of(ceilToSecond(mainStart + Math.max(30_000, estimate)), options.spreadSeconds());
      log(String.format(Locale.ROOT, "calibration: %.0f ms from submission to the wait call, %.0f ms per workflow "
          + "at %d at a time; timers aimed at %s to %s (first in %.0f s)", cal.callDelayMs(), cal.perWorkflowMs(),
          options.slots(), Instant.ofEpochMilli(due.firstDueMs()), Instant.ofEpochMilli(due.lastDueMs()),
          (due.firstDueMs() - mainStart) / 1e3));

      List<Submitted> submitted = submitAll(app, due, cal.callDelayMs());
      long allSuspendedMs = awaitQuiet("all " + options.workflows() + " suspended");
      Suspended snapshot = snapshot(data, allSuspendedMs);
      Counts mainSuspended = StatementCounter.read(counts);
      log(String.format(Locale.ROOT, "all suspended after %.0f s; server RSS %s MB; %d workflow process(es); store %s MB",
          (allSuspendedMs - mainStart) / 1e3, mb(snapshot.rssKb() * 1024 / 1e6), snapshot.workflowProcesses().size(),
          mb(snapshot.disk().store() / 1e6)));
      if (snapshot.suspendedCount() < options.workflows()) {
        problems.add("only " + snapshot.suspendedCount() + " of " + options.workflows()
            + " were suspended at once: the others had already woken");
      }
      if (allSuspendedMs > due.firstDueMs()) {
        problems.add(String.format(Locale.ROOT, "the start-up estimate was short: all were suspended %.1f s after the "
            + "first timers fell due, so early wakes competed with start-ups", (allSuspendedMs - due.firstDueMs()) / 1e3));
      }

      log("waiting for the timers and for all to complete");
      awaitCompletion(due.lastDueMs());
      mainWakes = StatementCounter.read(counts).minus(mainSuspended);
      mainWakeSeconds = (System.currentTimeMillis() - allSuspendedMs) / 1e3;

      log("reading " + submitted.size() + " histories");
      List<Observed> observed = new ArrayList<>();
      for (Submitted s : submitted) {
        observed.add(observe(s.id(), server.history(s.id())));
      }
      long finishedMs = System.currentTimeMillis();
      sampler.shutdownNow();
      sampler.awaitTermination(5, TimeUnit.SECONDS);
      long hwmKb = server.statusKb("VmHWM");
      statementRun = countStatements(app); // after the run's own figures: it adds nothing to them
      leftoverProcesses = server.closeAndCountLeftovers();
      long incomplete = observed.stream().filter(o -> !o.complete()).count();
      complete = incomplete == 0;
      if (!complete) {
        problems.add(incomplete + " of " + observed.size() + " workflows did not complete cleanly: "
            + observed.stream().filter(o -> !o.complete()).limit(5).map(o -> o.id() + " " + o.finalState()).toList());
      }
      if (leftoverProcesses > 0) {
        problems.add(leftoverProcesses + " workflow process(es) were still running after the server stopped; killed");
      }

      Map<String, String> machine = machine(data);
      Report r = new Report(cal, due, mainStart, submitted, observed, snapshot, beforeMain, hwmKb, finishedMs);
      String report = r.render();
      System.out.println();
      System.out.println("Machine:");
      System.out.println();
      machine.forEach((k, v) -> System.out.println("- " + k + ": " + v));
      System.out.println();
      System.out.println(report);
      if (options.markdown() != null) {
        appendMarkdown(options.markdown(), report, machine);
        log("appended the results to " + options.markdown().toAbsolutePath());
      }
    } finally {
      if (!complete && server != null) {
        System.err.println("torpor-bench: server stderr (tail):\n" + server.serverErr());
      }
      cleanUp();
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException e) {
        // already shutting down
      }
    }
    problems.forEach(p -> System.err.println("torpor-bench: problem: " + p));
    return complete ? 0 : 1;
  }

  // ----- phases -----

  /**
   * @param callDelayMs median delay from submission to the workflow's wait call
   * @param perWorkflowMs start-up pace: from the first submission to the last suspension, per workflow
   * @param workflows how many calibration workflows
   */
  record Calibration(double callDelayMs, double perWorkflowMs, int workflows) {}

  private Calibration calibrate(String app) throws IOException, InterruptedException {
    int k = options.warmup();
    log("calibration: " + k + " Hello workflows waiting 3600 s, " + options.slots() + " unsuspended at a time");
    Map<String, Long> submittedAt = new LinkedHashMap<>();
    long first = System.currentTimeMillis();
    for (int i = 0; i < k; i++) {
      awaitSlot();
      String id = String.format(Locale.ROOT, "%s%02d", WARM_PREFIX, i);
      server.submit(id, app, HELLO, List.of("3600"), options.javaOptions());
      submittedAt.put(id, System.currentTimeMillis());
    }
    awaitQuiet("calibration workflows suspended");
    List<Double> delays = new ArrayList<>();
    long lastSuspended = first;
    for (Map.Entry<String, Long> e : submittedAt.entrySet()) {
      Observed o = observe(e.getKey(), server.history(e.getKey()));
      if (o.suspendedMs() < 0 || o.wakeAtMs() < 0) {
        throw new IOException("calibration workflow " + e.getKey() + " did not suspend (" + o.finalState() + "): "
            + server.history(e.getKey()));
      }
      delays.add((double) (o.wakeAtMs() - 3_600_000L - e.getValue()));
      lastSuspended = Math.max(lastSuspended, o.suspendedMs());
    }
    for (String id : submittedAt.keySet()) {
      server.cancel(id);
    }
    return new Calibration(Stats.of(delays).median(), (lastSuspended - first) / (double) k, k);
  }

  private List<Submitted> submitAll(String app, DueSchedule schedule, double callDelayMs)
      throws IOException, InterruptedException {
    int n = options.workflows();
    List<Submitted> out = new ArrayList<>();
    int behind = 0;
    for (int i = 0; i < n; i++) {
      awaitSlot();
      long due = schedule.dueOf(i, n);
      long now = System.currentTimeMillis();
      double wait = (due - now - callDelayMs) / 1e3;
      long seconds = Math.max(1, Math.round(wait));
      if (wait < 0.5) {
        behind++;
      }
      String id = String.format(Locale.ROOT, "%s%04d", MAIN_PREFIX, i);
      server.submit(id, app, HELLO, List.of(Long.toString(seconds)), options.javaOptions());
      out.add(new Submitted(id, System.currentTimeMillis(), seconds, due));
      if ((i + 1) % Math.max(1, n / 10) == 0 || i + 1 == n) {
        log(String.format(Locale.ROOT, "submitted %d/%d (%.0f s before the first timer)", i + 1, n,
            (schedule.firstDueMs() - now) / 1e3));
      }
    }
    if (behind > 0) {
      problems.add(behind + " workflow(s) were submitted too late to fall due on time (wait clamped to 1 s)");
    }
    return out;
  }

  /**
   * The statements of one workflow's whole life (submit, start, suspend, wake, resume, complete)
   * and of its part up to SUSPENDED, totals over {@code cycles} workflows.
   */
  record StatementRun(int cycles, Counts total, Counts toSuspended) {}

  /**
   * Database statements per suspend+resume cycle, exactly: {@code statementCycles} Hello
   * workflows waiting {@value #STATEMENT_WAIT_S} s, one at a time on the otherwise idle server, so that no wake finds the
   * slots busy and is retried, and the counts are read with nothing else under way. Polling that
   * writes nothing (this benchmark's API reads, Quartz's idle loops) is counted apart by the server.
   */
  private StatementRun countStatements(String app) throws IOException, InterruptedException {
    int k = options.statementCycles();
    log("statements: " + k + " Hello workflows waiting " + STATEMENT_WAIT_S + " s, one at a time");
    awaitQuiet("the server idle before counting statements");
    Counts first = settled();
    Counts toSuspended = new Counts(0, 0, 0, 0, 0, 0);
    for (int i = 0; i < k; i++) {
      String id = String.format(Locale.ROOT, "%s%02d", STATEMENTS_PREFIX, i);
      Counts before = settled();
      server.submit(id, app, HELLO, List.of(Integer.toString(STATEMENT_WAIT_S)), options.javaOptions());
      awaitState(id, "SUSPENDED");
      Counts suspended = settled();
      toSuspended = add(toSuspended, suspended.minus(before));
      awaitState(id, "COMPLETED");
    }
    Counts total = settled().minus(first);
    log(String.format(Locale.ROOT, "statements: %d per workflow (%d Torpor, %d Quartz), %d commits",
        total.statements() / k, total.torporStatements() / k, total.quartzStatements() / k, total.commits() / k));
    return new StatementRun(k, total, toSuspended);
  }

  /** The server's counts once they have not moved, but for idle polling, for 1 s. */
  private Counts settled() throws IOException, InterruptedException {
    Counts last = StatementCounter.read(counts);
    long stillSince = System.currentTimeMillis();
    long deadline = stillSince + 60_000;
    while (System.currentTimeMillis() - stillSince < 1_000) {
      if (System.currentTimeMillis() > deadline) {
        throw new IOException("the server's statement counts did not settle within 60 s: " + last);
      }
      Thread.sleep(POLL_MS);
      Counts now = StatementCounter.read(counts);
      if (now.statements() != last.statements() || now.rollbacks() != last.rollbacks()) {
        stillSince = System.currentTimeMillis();
      }
      last = now;
    }
    return last;
  }

  private void awaitState(String id, String state) throws IOException, InterruptedException {
    long deadline = System.currentTimeMillis() + STALL_MS;
    while (true) {
      checkServer();
      String now = server.status(id).path("state").asText();
      if (now.equals(state)) {
        return;
      }
      if (now.equals("FAILED") || now.equals("CANCELLED") || now.equals("COMPLETED")) {
        throw new IOException(id + " is " + now + ", waiting for " + state + ": " + server.history(id));
      }
      if (System.currentTimeMillis() > deadline) {
        throw new IOException(id + " still " + now + " after " + STALL_MS / 1000 + " s, waiting for " + state);
      }
      Thread.sleep(20);
    }
  }

  private static Counts add(Counts a, Counts b) {
    return new Counts(a.torporStatements() + b.torporStatements(), a.quartzStatements() + b.quartzStatements(),
        a.commits() + b.commits(), a.rollbacks() + b.rollbacks(), a.idleStatements() + b.idleStatements(),
        a.idleCommits() + b.idleCommits());
  }

  /** Blocks until fewer than max-running workflows are pending or running. */
  private void awaitSlot() throws IOException, InterruptedException {
    long since = System.currentTimeMillis();
    int last = -1;
    while (true) {
      checkServer();
      int inFlight = server.count("PENDING") + server.count("RUNNING");
      if (inFlight < options.slots()) {
        return;
      }
      if (inFlight != last) {
        last = inFlight;
        since = System.currentTimeMillis();
      } else if (System.currentTimeMillis() - since > STALL_MS) {
        throw new IOException(inFlight + " workflows pending or running for " + STALL_MS / 1000 + " s without change");
      }
      Thread.sleep(POLL_MS);
    }
  }

  /**
   * Blocks until no workflow is pending or running; returns when it saw that. Fails if any
   * workflow failed, or nothing moves for {@link #STALL_MS}.
   */
  private long awaitQuiet(String what) throws IOException, InterruptedException {
    long since = System.currentTimeMillis();
    int last = -1;
    while (true) {
      checkServer();
      int inFlight = server.count("PENDING") + server.count("RUNNING");
      long now = System.currentTimeMillis();
      if (inFlight == 0) {
        int failed = server.count("FAILED");
        if (failed > 0) {
          throw new IOException(failed + " workflow(s) failed, e.g. " + server.list("FAILED").get(0));
        }
        return now;
      }
      if (inFlight != last) {
        last = inFlight;
        since = now;
      } else if (now - since > STALL_MS) {
        throw new IOException("waiting for " + what + ": " + inFlight + " workflows pending or running for "
            + STALL_MS / 1000 + " s without change");
      }
      Thread.sleep(POLL_MS);
    }
  }

  /** The state of things with every workflow suspended. */
  record Suspended(long atMs, long rssKb, List<Long> workflowProcesses, Disk disk, int suspendedCount) {}

  private Suspended snapshot(Path data, long atMs) throws IOException, InterruptedException {
    long rss = server.statusKb("VmRSS");
    List<Long> procs = server.workflowProcesses();
    Disk d = disk(data);
    int suspended = server.count("SUSPENDED");
    return new Suspended(atMs, rss, procs, d, suspended);
  }

  private void awaitCompletion(long lastDueMs) throws IOException, InterruptedException {
    int n = options.workflows();
    long lastChange = System.currentTimeMillis();
    int lastDone = -1;
    int loggedTenth = 0;
    for (long tick = 0; ; tick++) {
      checkServer();
      long now = System.currentTimeMillis();
      int runningNow = server.count("RUNNING");
      synchronized (running) {
        running.add(new long[] {now, runningNow});
      }
      if (tick % 4 == 0) { // every 2 s: the finished ones (a longer list)
        int done = server.count("COMPLETED") + server.count("FAILED");
        if (done >= n) {
          return;
        }
        if (done != lastDone) {
          lastDone = done;
          lastChange = now;
          if (done * 10 / n > loggedTenth) {
            loggedTenth = done * 10 / n;
            log("completed " + done + "/" + n);
          }
        } else if (now > lastDueMs && now - lastChange > STALL_MS) {
          problems.add("gave up waiting: " + done + " of " + n + " finished, none for " + STALL_MS / 1000 + " s");
          return;
        }
      }
      Thread.sleep(SAMPLE_MS);
    }
  }

  private void checkServer() throws IOException {
    if (!server.alive()) {
      throw new IOException("the server exited: " + server.serverErr());
    }
  }

  private void probe() {
    try {
      long[] cpu = machineCpu();
      probes.add(new Probe(System.currentTimeMillis(), server.statusKb("VmRSS"), cpu[0], cpu[1], server.cpuTicks()));
    } catch (RuntimeException e) {
      // a sample missed; the next one will do
    }
  }

  // ----- histories -----

  static Observed observe(String id, JsonNode history) {
    String state = "UNKNOWN";
    long submitted = -1;
    long started = -1;
    long suspended = -1;
    long wakeAt = -1;
    long waking = -1;
    long resumed = -1;
    long end = -1;
    for (JsonNode e : history) {
      String type = e.path("type").asText();
      long at = Instant.parse(e.path("at").asText()).toEpochMilli();
      switch (type) {
        case "SUBMITTED" -> submitted = first(submitted, at);
        case "STARTED" -> started = first(started, at);
        case "SUSPENDED" -> {
          if (suspended < 0) {
            suspended = at;
            String w = e.path("details").path("wakeAt").asText("");
            wakeAt = w.isEmpty() ? -1 : Instant.parse(w).toEpochMilli();
          }
          state = type;
        }
        case "WAKING" -> waking = first(waking, at);
        case "RESUMED" -> {
          resumed = first(resumed, at);
          state = "RUNNING";
        }
        case "COMPLETED", "FAILED", "CANCELLED" -> {
          end = at;
          state = type;
        }
        default -> {
          // PROCESS_STARTED, CHECKPOINTED, RESTORE_FAILED, ...: not needed here
        }
      }
    }
    return new Observed(id, state, submitted, started, suspended, wakeAt, waking, resumed, end);
  }

  private static long first(long current, long at) {
    return current >= 0 ? current : at;
  }

  // ----- the report -----

  private final class Report {
    final Calibration cal;
    final DueSchedule due;
    final long target;
    final long mainStart;
    final List<Submitted> submitted;
    final List<Observed> all;
    final List<Observed> ok;
    final Suspended snap;
    final Disk before;
    final long hwmKb;
    final long finishedMs;
    final int slots = options.slots();
    final int n = options.workflows();

    Report(Calibration cal, DueSchedule due, long mainStart, List<Submitted> submitted, List<Observed> observed,
        Suspended snap, Disk before, long hwmKb, long finishedMs) {
      this.cal = cal;
      this.due = due;
      this.target = due.firstDueMs();
      this.mainStart = mainStart;
      this.submitted = submitted;
      this.all = observed;
      this.ok = observed.stream().filter(Observed::complete).toList();
      this.snap = snap;
      this.before = before;
      this.hwmKb = hwmKb;
      this.finishedMs = finishedMs;
    }

    String render() {
      StringBuilder out = new StringBuilder();
      // --- set-up ---
      List<Interval> slotIntervals = new ArrayList<>();
      for (Observed o : all) {
        if (o.startedMs() >= 0 && o.suspendedMs() >= 0) {
          slotIntervals.add(new Interval(o.startedMs(), o.suspendedMs()));
        }
        if (o.wakingMs() >= 0) {
          slotIntervals.add(new Interval(o.wakingMs(), o.endMs() >= 0 ? o.endMs() : finishedMs));
        }
      }
      long inMinute = all.stream().filter(o -> o.wakeAtMs() >= 0 && due.inMinute(o.wakeAtMs())).count();
      long firstDue = all.stream().mapToLong(Observed::wakeAtMs).filter(x -> x >= 0).min().orElse(-1);
      long lastDue = all.stream().mapToLong(Observed::wakeAtMs).filter(x -> x >= 0).max().orElse(-1);
      out.append(String.format(Locale.ROOT, "Workload: %d `Hello` workflows (one `Durable.waitFor(N s)` each, then exit) "
          + "on one `torpor server` (embedded H2 registry, Quartz timers, local image store, `--max-running %d`), "
          + "driven over its HTTP API.%n%n", n, slots));
      out.append(String.format(Locale.ROOT, "- Calibration: %d workflows, submitted %d unsuspended at a time: %.1f s "
          + "from submission to the wait call (median), %.2f s of start-up per workflow; then cancelled.%n",
          cal.workflows(), slots, cal.callDelayMs() / 1e3, cal.perWorkflowMs() / 1e3));
      long t0 = due.minuteStartMs();
      out.append(String.format(Locale.ROOT, "- Submission: at most %d unsuspended at a time (the server's slots, so "
          + "each starts at once), each with the wait, in whole seconds, that puts its timer at its place in "
          + "T%+.1f s … T%+.1f s, evenly; the intended minute is [T, T + 60 s), T = %s, %.0f s after the first "
          + "submission. All %d were suspended %.0f s after the first submission, %.1f s %s the first timer was due.%n",
          slots, (due.firstDueMs() - t0) / 1e3, (due.lastDueMs() - t0) / 1e3, Instant.ofEpochMilli(t0),
          (t0 - mainStart) / 1e3, n, (snap.atMs() - mainStart) / 1e3, Math.abs(target - snap.atMs()) / 1e3,
          snap.atMs() <= target ? "before" : "AFTER"));
      out.append(String.format(Locale.ROOT, "- Timers fell due from T%+.1f s to T%+.1f s: %d of %d within the intended "
          + "minute.%n%n", (firstDue - t0) / 1e3, (lastDue - t0) / 1e3, inMinute, n));

      // --- lateness ---
      List<Double> timerLate = diff(ok, Observed::wakeAtMs, Observed::wakingMs);
      List<Double> resumeLate = diff(ok, Observed::wakeAtMs, Observed::resumedMs);
      List<Double> restore = diff(ok, Observed::wakingMs, Observed::resumedMs);
      List<Double> hold = diff(ok, Observed::wakingMs, Observed::endMs);
      List<Double> afterResume = diff(ok, Observed::resumedMs, Observed::endMs);
      List<Double> startUp = diff(ok, Observed::submittedMs, Observed::suspendedMs);
      List<Double> lateFree = new ArrayList<>();
      List<Double> lateBusy = new ArrayList<>();
      for (Observed o : ok) {
        // Slots at the due instant, not counting the workflow's own (it holds none while suspended).
        (EventRates.overlapping(slotIntervals, o.wakeAtMs()) >= slots ? lateBusy : lateFree)
            .add((double) (o.wakingMs() - o.wakeAtMs()));
      }
      Map<String, Submitted> byId = new LinkedHashMap<>();
      submitted.forEach(s -> byId.put(s.id(), s));
      List<Double> dueError = ok.stream()
          .map(o -> (double) Math.abs(o.wakeAtMs() - byId.get(o.id()).intendedDueMs())).toList();

      out.append(String.format(Locale.ROOT, "Lateness (%d of %d workflows completed; ms):%n%n", ok.size(), n));
      Table t = new Table("metric, ms", "p50", "p95", "p99", "max", "target");
      row(t, "timer lateness (wakeAt → WAKING: timer fired, slot taken)", timerLate,
          "p99 ≤ " + ms(LATENESS_P99_TARGET_MS));
      row(t, "resume lateness (wakeAt → RESUMED: the workflow runs again)", resumeLate, "");
      row(t, "  timer lateness, due while a slot was free (n=" + lateFree.size() + ")", lateFree, "");
      row(t, "  timer lateness, due while all " + slots + " slots were busy (n=" + lateBusy.size() + ")", lateBusy, "");
      row(t, "  restore (WAKING → RESUMED)", restore, "");
      row(t, "  slot held per wake (WAKING → COMPLETED: restore, rest of main, exit)", hold, "");
      row(t, "start-up (submission → SUSPENDED: JVM start, dump, pack)", startUp, "");
      row(t, "|wakeAt − intended due time|", dueError, "");
      out.append(t).append('\n');
      out.append("The p99 target is about the timer firing: timer lateness, from the `wakeAt` recorded with SUSPENDED "
          + "to the WAKING event (the server took the wake and a slot for it). Resume lateness adds the restore, until "
          + "the workflow runs again (RESUMED).\n\n");

      // --- throughput ---
      List<Long> resumedAt = ok.stream().map(Observed::resumedMs).toList();
      List<Long> wakingAt = ok.stream().map(Observed::wakingMs).toList();
      List<Long> dueAt = all.stream().map(Observed::wakeAtMs).filter(x -> x >= 0).toList();
      List<Long> suspendedAt = all.stream().map(Observed::suspendedMs).filter(x -> x >= 0).toList();
      Window resumed30 = EventRates.busiestWindow(resumedAt, WINDOW_MS);
      Window waking30 = EventRates.busiestWindow(wakingAt, WINDOW_MS);
      Window due30 = EventRates.busiestWindow(dueAt, WINDOW_MS);
      Window suspended30 = EventRates.busiestWindow(suspendedAt, WINDOW_MS);
      double cycles = resumed30.count() / (WINDOW_MS / 1e3);
      cyclesPerSecond = cycles;
      double demand = due30.count() / (WINDOW_MS / 1e3);
      double holdS = Stats.of(hold).median() / 1e3;
      double capacity = slots / holdS;
      long wakeStart = wakingAt.stream().mapToLong(Long::longValue).min().orElse(target);
      long wakeEnd = ok.stream().mapToLong(Observed::endMs).max().orElse(finishedMs);
      double busyShare = fullSlotShare(wakeStart, wakeEnd);
      int maxConcurrent = EventRates.maxOverlap(slotIntervals.stream().filter(i -> i.endMillis() > wakeStart).toList());
      double[] cpu = cpuOver(wakeStart, wakeEnd);

      out.append("Throughput:\n\n");
      Table th = new Table("metric", "value", "target");
      th.row("wake-ups per second (RESUMED events), peak 1-s bucket", Long.toString(EventRates.peakPerSecond(resumedAt)), "");
      th.row("wake-ups per second, median 1-s bucket (first to last RESUMED)",
          num1(EventRates.medianPerSecond(resumedAt)), "");
      th.row("suspend+resume cycles per second, busiest 30 s (RESUMED ÷ 30 s)", num1(cycles),
          "≥ " + num1(CYCLES_TARGET_PER_S));
      th.row("  timers fired per second, busiest 30 s (WAKING ÷ 30 s)", num1(waking30.count() / (WINDOW_MS / 1e3)), "");
      th.row("  timers falling due per second, busiest 30 s (demand)", num1(demand), "");
      th.row("  slot-bound ceiling: " + slots + " slots ÷ median slot held " + ms(holdS * 1e3) + " ms, per second",
          num1(capacity), "");
      th.row("  all " + slots + " slots busy, share of the wake phase (0.5 s samples)", pct(busyShare), "");
      th.row("  most slots held at once during the wake phase", Integer.toString(maxConcurrent), "");
      th.row("  machine CPU busy during the wake phase (" + Runtime.getRuntime().availableProcessors() + " cores)",
          pct(cpu[0]), "");
      th.row("  server JVM CPU during the wake phase, cores", Double.isNaN(cpu[1]) ? "–" : String.format(Locale.ROOT, "%.2f", cpu[1]), "");
      th.row("starts+suspends per second, busiest 30 s (SUSPENDED ÷ 30 s; JVM start included)",
          num1(suspended30.count() / (WINDOW_MS / 1e3)), "");
      out.append(th).append('\n');

      // --- database statements ---
      statements(out);

      // --- resources ---
      Disk d = snap.disk();
      long mainBytesBefore = before.data();
      long rssBytes = snap.rssKb() * 1024;
      long peakRssKb = probes.stream().mapToLong(Probe::rssKb).max().orElse(-1);
      out.append(String.format(Locale.ROOT, "Resources with all %d suspended (%d SUSPENDED in the registry):%n%n", n,
          snap.suspendedCount()));
      Table rs = new Table("metric", "value", "target");
      rs.row("server RSS (VmRSS), MB", mb(rssBytes / 1e6), "≤ " + mb(RSS_TARGET_BYTES / 1e6));
      rs.row("server RSS, peak of 0.5 s samples over the run, MB", mb(peakRssKb * 1024 / 1e6), "");
      rs.row("server RSS, peak during the wake phase, MB", mb(peakRssKbBetween(wakeStart, wakeEnd) * 1024 / 1e6), "");
      rs.row("server VmHWM at the end, MB", mb(hwmKb * 1024 / 1e6), "");
      rs.row("workflow processes resident (cwd under the run dir)", Integer.toString(snap.workflowProcesses().size()), "0");
      rs.row("image store (D/store), MB", mb(d.store() / 1e6), "");
      rs.row("  the " + n + " workflows' images, MB", mb(d.mainImages() / 1e6), "");
      rs.row("  per suspended workflow, MB", mb(d.mainImages() / 1e6 / n), "");
      rs.row("  the " + cal.workflows() + " calibration workflows' images (kept after cancel), MB",
          mb(d.warmImages() / 1e6), "");
      rs.row("data dir D in all (store, H2 database, logs, apps, agent jars), MB", mb(d.data() / 1e6), "");
      rs.row("  D allocated on disk (du), MB", d.dataAllocated() < 0 ? "–" : mb(d.dataAllocated() / 1e6), "");
      rs.row("  H2 database (D/db), MB", mb(d.db() / 1e6), "");
      rs.row("  workflow logs (D/logs), MB", mb(d.logs() / 1e6), "");
      rs.row("  D grown per workflow during submission, kB", String.format(Locale.ROOT, "%.1f",
          (d.data() - mainBytesBefore) / 1e3 / n), "");
      rs.row("    of which not images (registry, Quartz, logs), kB", String.format(Locale.ROOT, "%.1f",
          (d.data() - mainBytesBefore - d.mainImages()) / 1e3 / n), "");
      rs.row("run dir (" + runBase + "), kB", String.format(Locale.ROOT, "%.1f", d.runDir() / 1e3), "");
      out.append(rs).append('\n');

      // --- verdicts ---
      double p99 = Stats.percentileOf(99, timerLate.stream().mapToDouble(Double::doubleValue).toArray());
      timerLatenessP99Ms = p99;
      out.append("Targets (2-core machine):\n\n");
      if (p99 <= LATENESS_P99_TARGET_MS) {
        out.append(String.format(Locale.ROOT, "- p99 timer lateness %s ms ≤ %s ms: met%n", ms(p99), ms(LATENESS_P99_TARGET_MS)));
      } else {
        Stats busy = Stats.of(lateBusy);
        out.append(String.format(Locale.ROOT, "- p99 timer lateness %s ms > %s ms: MISSED by %s ms (+%s). %d of %d wakes "
            + "fell due with all %d slots busy (their lateness p50 %s ms, max %s ms): the server's Quartz takes a due wake "
            + "only when a slot is free, so they waited for running workflows to finish; the "
            + "%d that found a slot free were %s ms late at p99. A slot is held %s ms per wake (median; restore %s ms, "
            + "then the rest of the workflow and its exit %s ms), so %d slots take at most %s wakes/s against timers "
            + "falling due at up to %s/s; all slots were busy %s of the wake phase, the machine CPU %s.%n",
            ms(p99), ms(LATENESS_P99_TARGET_MS), ms(p99 - LATENESS_P99_TARGET_MS), pct((p99 - LATENESS_P99_TARGET_MS)
                / LATENESS_P99_TARGET_MS), lateBusy.size(), ok.size(), slots, ms(busy.median()), ms(busy.max()),
            lateFree.size(), ms(Stats.percentileOf(99, lateFree.stream().mapToDouble(Double::doubleValue).toArray())),
            ms(holdS * 1e3), ms(Stats.of(restore).median()), ms(Stats.of(afterResume).median()), slots, num1(capacity),
            num1(demand), pct(busyShare), pct(cpu[0])));
      }
      if (cycles >= CYCLES_TARGET_PER_S) {
        out.append(String.format(Locale.ROOT, "- %s suspend+resume cycles/s ≥ %s: met%n", num1(cycles), num1(CYCLES_TARGET_PER_S)));
      } else {
        StringBuilder why = new StringBuilder();
        if (demand <= cycles * 1.1) {
          why.append(String.format(Locale.ROOT, "not measured at capacity: the timers fell due at only %s/s in the "
              + "busiest 30 s and the wakes kept up (run with more workflows, or -Dtorpor.bench.spread=0)", num1(demand)));
        } else if (busyShare >= 0.5) {
          why.append(String.format(Locale.ROOT, "bound by the %d slots: all were busy %s of the wake phase, each held "
              + "%s ms per wake, a ceiling of %s/s (the machine CPU was %s busy)", slots, pct(busyShare), ms(holdS * 1e3),
              num1(capacity), pct(cpu[0])));
        } else if (cpu[0] >= 0.9) {
          why.append(String.format(Locale.ROOT, "bound by CPU: the machine was %s busy during the wake phase "
              + "(restores at a median %s ms each)", pct(cpu[0]), ms(Stats.of(restore).median())));
        } else {
          why.append(String.format(Locale.ROOT, "neither the slots (all busy %s of the time, at most %d held at once) "
              + "nor the CPU (%s busy) were saturated: the wakes are paced by the server itself (Quartz: 4 threads, "
              + "1 s idle wait; one registry transaction per wake)", pct(busyShare), maxConcurrent, pct(cpu[0])));
        }
        out.append(String.format(Locale.ROOT, "- %s suspend+resume cycles/s < %s: MISSED by %s/s (%s); %s.%n",
            num1(cycles), num1(CYCLES_TARGET_PER_S), num1(CYCLES_TARGET_PER_S - cycles),
            pct(-(CYCLES_TARGET_PER_S - cycles) / CYCLES_TARGET_PER_S), why));
      }
      if (rssBytes <= RSS_TARGET_BYTES) {
        out.append(String.format(Locale.ROOT, "- server RSS %s MB with %d suspended ≤ %s MB: met (peak %s MB over the run)%n",
            mb(rssBytes / 1e6), n, mb(RSS_TARGET_BYTES / 1e6), mb(peakRssKb * 1024 / 1e6)));
      } else {
        out.append(String.format(Locale.ROOT, "- server RSS %s MB with %d suspended > %s MB: MISSED by %s MB (+%s); "
            + "the heap is capped at 256 MB (-Xmx256m), the rest is metaspace, code cache, thread stacks and malloc%n",
            mb(rssBytes / 1e6), n, mb(RSS_TARGET_BYTES / 1e6), mb((rssBytes - RSS_TARGET_BYTES) / 1e6),
            pct((rssBytes - RSS_TARGET_BYTES) / RSS_TARGET_BYTES)));
      }
      out.append(String.format(Locale.ROOT, "%nShutdown: the server %s; %d workflow process(es) were left to kill.%n",
          server.stopped(), leftoverProcesses));
      if (Runtime.getRuntime().availableProcessors() != 2) {
        out.append(String.format(Locale.ROOT, "%nThe targets are for 2 cores; this machine has %d.%n",
            Runtime.getRuntime().availableProcessors()));
      }
      if (n < DEFAULT_WORKFLOWS) {
        out.append(String.format(Locale.ROOT, "%nA trial with %d workflows: issue #3 asks for %d.%n", n, DEFAULT_WORKFLOWS));
      }
      synchronized (problems) {
        if (!problems.isEmpty()) {
          out.append("\nProblems:\n\n");
          problems.forEach(p -> out.append("- ").append(p).append('\n'));
        }
      }
      return out.toString();
    }

    /** Statements per cycle (issue #12): the exact figure of the one-at-a-time phase, and the main run's under load. */
    private void statements(StringBuilder out) {
      if (statementRun == null) {
        return;
      }
      int k = statementRun.cycles();
      Counts all = statementRun.total();
      Counts down = statementRun.toSuspended();
      Counts up = all.minus(down);
      out.append(String.format(Locale.ROOT, "Database statements (counted in the server at the JDBC boundary, "
          + "`-D%s`; Torpor's and Quartz's, on both pools):%n%n", StatementCounter.PROPERTY));
      Table st = new Table("metric", "value");
      st.row(String.format(Locale.ROOT, "statements per suspend+resume cycle (%d `Hello` workflows waiting %d s, one "
          + "at a time: submit, start, suspend, wake, resume, complete)", k, STATEMENT_WAIT_S), per(all.statements(), k));
      st.row("  on Torpor's tables", per(all.torporStatements(), k));
      st.row("  on Quartz's (`QRTZ_`) tables", per(all.quartzStatements(), k));
      st.row("  from submission to SUSPENDED (submit, dispatch, start, suspend, timer)", per(down.statements(), k));
      st.row("  from SUSPENDED to the end (timer fires, wake, restore, resume, complete)", per(up.statements(), k));
      st.row("transactions committed per cycle", per(all.commits(), k));
      st.row("transactions rolled back per cycle", per(all.rollbacks(), k));
      if (mainWakes != null) {
        st.row(String.format(Locale.ROOT, "statements per wake in the main run (all %d suspended → all completed; "
            + "Quartz takes due wakes only as slots come free, yet a wake that found every slot busy for 250 ms is "
            + "taken and handed back, so this depends on load)", n),
            per(mainWakes.statements(), n));
        st.row("  idle polling apart from these (read-only transactions of the API and Quartz's loops), per s",
            String.format(Locale.ROOT, "%.1f", mainWakes.idleStatements() / mainWakeSeconds));
      }
      out.append(st).append('\n');
    }

    private static String per(long total, int k) {
      return total % k == 0 ? Long.toString(total / k) : String.format(Locale.ROOT, "%.2f", total / (double) k);
    }

    private void row(Table t, String label, List<Double> values, String target) {
      double[] xs = values.stream().mapToDouble(Double::doubleValue).toArray();
      Stats s = Stats.of(values);
      t.row(label, ms(s.median()), ms(s.p95()), ms(Stats.percentileOf(99, xs)), ms(s.max()), target);
    }

    private long peakRssKbBetween(long from, long to) {
      synchronized (probes) {
        return probes.stream().filter(p -> p.atMs() >= from && p.atMs() <= to).mapToLong(Probe::rssKb).max().orElse(-1);
      }
    }

    /** Share of the RUNNING samples between {@code from} and {@code to} with every slot taken. */
    private double fullSlotShare(long from, long to) {
      synchronized (running) {
        List<long[]> in = running.stream().filter(r -> r[0] >= from && r[0] <= to).toList();
        return in.isEmpty() ? Double.NaN : in.stream().filter(r -> r[1] >= slots).count() / (double) in.size();
      }
    }

    /** [machine CPU busy share, server CPU in cores] between the probes nearest {@code from} and {@code to}. */
    private double[] cpuOver(long from, long to) {
      List<Probe> ps;
      synchronized (probes) {
        ps = new ArrayList<>(probes);
      }
      Optional<Probe> a = ps.stream().filter(p -> p.atMs() <= from).max(Comparator.comparingLong(Probe::atMs));
      Optional<Probe> b = ps.stream().filter(p -> p.atMs() >= to).min(Comparator.comparingLong(Probe::atMs));
      if (a.isEmpty()) {
        a = ps.stream().findFirst();
      }
      if (b.isEmpty()) {
        b = ps.stream().reduce((x, y) -> y);
      }
      if (a.isEmpty() || b.isEmpty() || b.get().atMs() <= a.get().atMs()) {
        return new double[] {Double.NaN, Double.NaN};
      }
      Probe x = a.get();
      Probe y = b.get();
      double busy = (y.machineBusyTicks() - x.machineBusyTicks()) / (double) (y.machineTotalTicks() - x.machineTotalTicks());
      double serverCores = x.serverTicks() < 0 || y.serverTicks() < 0 ? Double.NaN
          : (y.serverTicks() - x.serverTicks()) / (double) clockTicks / ((y.atMs() - x.atMs()) / 1e3);
      return new double[] {busy, serverCores};
    }
  }

  private static List<Double> diff(List<Observed> os, ToLongFunction<Observed> from, ToLongFunction<Observed> to) {
    List<Double> out = new ArrayList<>();
    for (Observed o : os) {
      long a = from.applyAsLong(o);
      long b = to.applyAsLong(o);
      if (a >= 0 && b >= 0) {
        out.add((double) (b - a));
      }
    }
    return out;
  }

  private static String num1(double v) {
    return Double.isNaN(v) || Double.isInfinite(v) ? "–" : String.format(Locale.ROOT, "%.1f", v);
  }

  // ----- the machine, the disk -----

  private Disk disk(Path data) {
    Path store = data.resolve("store");
    Path images = store.resolve("images");
    return new Disk(bytes(data), allocated(data), bytes(store), bytesOfChildren(images, MAIN_PREFIX),
        bytesOfChildren(images, WARM_PREFIX), bytes(data.resolve("db")), bytes(data.resolve("logs")), bytes(runBase));
  }

  /** Apparent size: the sum of regular files' sizes under {@code dir}. */
  static long bytes(Path dir) {
    if (!Files.exists(dir)) {
      return 0;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      return walk.mapToLong(p -> {
        try {
          return Files.isRegularFile(p) ? Files.size(p) : 0;
        } catch (IOException e) {
          return 0; // removed meanwhile
        }
      }).sum();
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  private static long bytesOfChildren(Path dir, String prefix) {
    if (!Files.isDirectory(dir)) {
      return 0;
    }
    try (Stream<Path> children = Files.list(dir)) {
      return children.filter(c -> c.getFileName().toString().startsWith(prefix)).mapToLong(ControlPlaneBenchmark::bytes).sum();
    } catch (IOException e) {
      return -1;
    }
  }

  /** Blocks allocated, in bytes, as {@code du -s -B1} counts them; -1 if du is not there. */
  private static long allocated(Path dir) {
    return SnapshotBenchmark.command(60, "du", "-s", "-B1", dir.toString()).map(s -> s.split("\\s+")[0]).map(s -> {
      try {
        return Long.parseLong(s);
      } catch (NumberFormatException e) {
        return -1L;
      }
    }).orElse(-1L);
  }

  /** [busy, total] jiffies of all CPUs, from the first line of /proc/stat. */
  private static long[] machineCpu() {
    try {
      String line = Files.readAllLines(Path.of("/proc/stat")).get(0);
      String[] f = line.trim().split("\\s+");
      long user = Long.parseLong(f[1]);
      long nice = Long.parseLong(f[2]);
      long system = Long.parseLong(f[3]);
      long idle = Long.parseLong(f[4]);
      long iowait = f.length > 5 ? Long.parseLong(f[5]) : 0;
      long irq = f.length > 6 ? Long.parseLong(f[6]) : 0;
      long softirq = f.length > 7 ? Long.parseLong(f[7]) : 0;
      long steal = f.length > 8 ? Long.parseLong(f[8]) : 0;
      long busy = user + nice + system + irq + softirq + steal;
      return new long[] {busy, busy + idle + iowait};
    } catch (IOException | RuntimeException e) {
      return new long[] {0, 0};
    }
  }

  private static long clockTicksPerSecond() {
    return SnapshotBenchmark.command(60, "getconf", "CLK_TCK").map(s -> {
      try {
        return Long.parseLong(s.strip());
      } catch (NumberFormatException e) {
        return 100L;
      }
    }).orElse(100L);
  }

  private Map<String, String> machine(Path data) {
    Map<String, String> m;
    try {
      m = SnapshotBenchmark.machine(CriuEngine.locate(), data);
    } catch (RuntimeException e) {
      m = new LinkedHashMap<>();
      m.put("CPUs (`nproc`)", Integer.toString(Runtime.getRuntime().availableProcessors()));
      m.put("CRIU", "not located: " + e.getMessage());
    }
    m.put("server", "`" + String.join(" ", serverCommandForDisplay()) + "` with MALLOC_ARENA_MAX=2");
    if (!options.javaOptions().isEmpty()) {
      m.put("workflow JVM options", String.join(" ", options.javaOptions()));
    }
    return m;
  }

  private List<String> serverCommandForDisplay() {
    List<String> cmd = new ArrayList<>(server.command);
    cmd.set(0, "java");
    for (int i = 0; i < cmd.size(); i++) {
      if (cmd.get(i).equals(server.cliJar.toString())) {
        cmd.set(i, "torpor.jar");
      } else if (i > 0 && cmd.get(i - 1).equals("--data")) {
        cmd.set(i, "D");
      } else if (i > 0 && cmd.get(i - 1).equals("--run-dir")) {
        cmd.set(i, "R");
      } else if (i > 0 && cmd.get(i - 1).equals("--listen")) {
        cmd.set(i, "127.0.0.1:PORT");
      }
    }
    return cmd;
  }

  private void appendMarkdown(Path file, String report, Map<String, String> machine) throws IOException {
    String date = ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME);
    StringBuilder md = new StringBuilder();
    md.append("\n## Control-plane benchmark, ").append(date, 0, 10).append("\n\n");
    md.append("Machine:\n\n");
    machine.forEach((k, v) -> md.append("- ").append(k).append(": ").append(v).append('\n'));
    md.append("\nCommand: `java");
    System.getProperties().stringPropertyNames().stream().filter(k -> k.startsWith("torpor.bench.")).sorted()
        .forEach(k -> md.append(" -D").append(k).append('=').append(System.getProperty(k)));
    md.append(" -cp bench/target/torpor-bench.jar dev.torpor.bench.ControlPlaneBenchmark ")
        .append(options.workflows()).append(' ').append(file).append("`\n\n");
    md.append(report);
    if (file.toAbsolutePath().getParent() != null) {
      Files.createDirectories(file.toAbsolutePath().getParent());
    }
    Files.writeString(file, md, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
  }

  // ----- cleaning up -----

  /** Stops the server, kills leftover workflow JVMs, deletes the temp dirs unless asked to keep them. Runs once. */
  private void cleanUp() {
    if (!cleanedUp.compareAndSet(false, true)) {
      return;
    }
    if (sampler != null) {
      sampler.shutdownNow();
    }
    if (server != null) {
      try {
        int killed = server.closeAndCountLeftovers();
        if (killed > 0) {
          log("killed " + killed + " workflow process(es) left under " + runBase);
        }
      } catch (IOException | RuntimeException e) {
        log("stopping the server: " + e);
      }
    }
    if (Boolean.getBoolean("torpor.bench.keep")) {
      log("kept " + benchDir + " (data, server.out, server.err) and " + runBase + " for inspection");
      return;
    }
    for (Path dir : new Path[] {benchDir, runBase}) {
      try {
        SnapshotBenchmark.deleteTree(dir);
      } catch (IOException | RuntimeException e) {
        log("could not delete " + dir + ": " + e);
      }
    }
  }

  // ----- helpers -----

  private static long ceilToSecond(long ms) {
    return Math.floorDiv(ms + 999, 1000) * 1000;
  }

  private static void log(String msg) {
    System.err.println("torpor-bench: " + Instant.now().toString().substring(11, 19) + " " + msg);
  }
}
