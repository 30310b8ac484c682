package dev.torpor.bench;

import dev.torpor.examples.Cycles;
import dev.torpor.launcher.internal.CriuEngine;
import dev.torpor.launcher.internal.InMemorySupervisor;
import dev.torpor.launcher.internal.Worker;
import dev.torpor.launcher.internal.WorkflowEvent;
import dev.torpor.launcher.internal.WorkflowEvent.Type;
import dev.torpor.launcher.internal.WorkflowSpec;
import dev.torpor.storage.ImageKey;
import dev.torpor.storage.ImageStore;
import dev.torpor.storage.crypto.ImageCipher;
import dev.torpor.storage.crypto.ImageKeyring;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.CodeSource;
import java.time.Duration;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The snapshot benchmark (issues #2 and #4): runs the {@link Cycles} workflow on an embedded
 * worker built as {@code torpor run} builds it (CRIU, an image store, an in-memory supervisor),
 * and reports the median and p95 of suspend and resume latency and image sizes, where the
 * time goes, and how that compares with the targets.
 *
 * <p>Usage: {@code java -jar bench/target/torpor-bench.jar [cycles] [repeats] [markdown-out]
 * [--s3 | --stores=LIST] [--no-throughput]}. By default the image store is a local directory.
 * {@code --s3} runs the same workflow on three stores in one command: the local directory, S3
 * and S3 with image encryption ({@link StoreVariant}), each with its own worker, taking turns run
 * by run, and compares them side by side ({@link StoreComparison}); S3 is S3Proxy, a real
 * S3-compatible server started on this machine ({@link BenchStores}). Whenever a store encrypts,
 * the cipher is warmed up first, and what a cold one costs is reported ({@link CipherWarmUp}).
 * Whenever an S3 store is chosen, the stores' upload and download throughput is measured next
 * ({@link StoreThroughput}), unless {@code --no-throughput}. Needs root and CRIU, like {@code
 * torpor run}. Exits 0 when every run completed with the workflow's state intact (whether or not
 * the targets are met), 1 otherwise, 2 on bad usage.
 */
public final class SnapshotBenchmark {
  /** Cycles at the start of each run left out of the statistics: a fresh JVM, a cold worker. */
  static final int WARM_UP = 3;

  /** Issue #15's targets on the local store: suspend (wait call to durable) and resume (wake to next statement). */
  static final double SUSPEND_TARGET_MS = 50;
  static final double RESUME_TARGET_MS = 20;
  /** Issue #4's suspend target through the S3 store, against a local S3-compatible server (issue #15 names none). */
  static final double S3_SUSPEND_TARGET_MS = 250;
  /** Issue #15's resume targets through S3: the image in the worker's cache, and not. */
  static final double S3_CACHED_RESUME_TARGET_MS = 25;
  static final double S3_RESUME_TARGET_MS = 150;
  /** Without the image cache on the local store, issue #2's target still holds. */
  static final double NOCACHE_RESUME_TARGET_MS = 150;
  /** Issue #4: encryption may add at most this share to the S3 suspend and resume p50. */
  static final double ENCRYPTION_OVERHEAD_TARGET = 0.15;
  /** 8 MB, in the decimal megabytes that {@code torpor} prints. */
  static final double PACKED_TARGET_BYTES = 8e6;

  static final String USAGE = String.join("\n",
      "usage: java -jar torpor-bench.jar [cycles (default 25)] [repeats (default 1)] [markdown-out]"
          + " [--s3 | --stores=LIST] [--no-throughput] [--pending-waits=N]",
      "  --s3            run on the local store, S3 and S3 with image encryption, and the local store and S3 without the",
      "                  worker's image cache (= --stores=local,local+nocache,s3,s3+nocache,s3+encrypted);",
      "                  S3 is S3Proxy, started on 127.0.0.1 from s3proxy/s3proxy.jar beside this jar",
      "                  (or -Dtorpor.s3proxy.jar=PATH)",
      "  --stores=LIST   the image stores, comma-separated: local, local+encrypted, s3, s3+encrypted, each optionally",
      "                  with +nocache (--image-cache 0: every wake fetches and unpacks) (default: local)",
      "  -Dtorpor.bench.javaOpts=\"OPTS\"  JVM options for the workflow JVMs, space-separated (default: none),",
      "                  to measure flags before making them a default",
      "  -Dtorpor.bench.noAslr=true  the workers run their workflows as with --no-aslr",
      "  --no-throughput skip the upload and download throughput, measured whenever an S3 store is chosen",
      "  --pending-waits=N  N more threads of the workflow wait on signals that never come, so that every",
      "                  checkpoint holds a wait set of N + 1 waits (default 0)");

  private static final String EMBEDDED_WORKFLOW_JAR = "/dev/torpor/bench/workflow/torpor-examples.jar";
  private static final Pattern CYCLE_LINE =
      Pattern.compile("cycle (\\d+)/(\\d+): waitCalledAtMicros=(\\d+) resumedAtMicros=(\\d+)");

  // Phase names, in timeline order. Each list adds up, per sample, to the end-to-end latency.
  static final String S_AGENT = "agent: wait call → SUSPEND taken up by the worker";
  static final String S_SYNC = "sync: output drained to the log";
  static final String S_DUMP = "dump: criu dump";
  static final String S_PACK = "packUpload: chunks hashed, new ones in frames (zstd, +encrypt), index, into the"
      + " store's upload";
  static final String S_COMMIT = "commit: data made durable, manifest published";
  static final String S_OTHER = "worker, untimed: dump dir removed, pipe closed";
  static final String R_FETCH = "fetchVerifyUnpack: index and frames read, SHA-256 (+decrypt), unzstd, files"
      + " rebuilt; or fromCache: the worker's cached dump moved into place";
  /** Issue #15's target for the bytes a further image of a workflow stores. */
  static final double STORED_PER_FURTHER_IMAGE_MB = 0.5;
  static final String R_SANDBOX = "sandbox: the wait, after the fetch, for the workflow's root and run directory (made ready meanwhile)";
  static final String R_RESTORE = "restoreDeliver: criu restore (its namespaces, mounts, memory) until its wake socket"
      + " accepts the wake";
  static final String R_HOOKS = "afterRestore hooks";
  static final String R_UNTIMED =
      "untimed: manifest read, rest of criu restore (memory), restored JVM reads the wake, RESUMED hand-off";

  /** One wait of one run. Latencies in ms; NaN where not known. */
  record Sample(
      int run,
      int cycle,
      boolean dumped,
      long seq,
      double suspendMillis,
      double workerSuspendMillis,
      double resumeMillis,
      double workerResumeMillis,
      long rawBytes,
      long packedBytes,
      Map<String, Double> suspendPhases,
      Map<String, Double> resumePhases,
      Optional<DumpStats> criu,
      Map<String, Double> restoreStats) {}

  /**
   * @param stores the image stores, each run on in turn
   * @param throughput whether to measure the stores' upload and download throughput first
   * @param args the arguments as given, for the report's command line
   */
  record Options(int cycles, int repeats, Path markdown, List<StoreVariant> stores, boolean throughput,
      List<String> args, int pendingWaits) {
    static Options parse(String[] args) {
      List<String> positional = new ArrayList<>();
      List<StoreVariant> stores = null;
      boolean noThroughput = false;
      int pending = 0;
      for (String a : args) {
        if (a.equals("--s3") || a.startsWith("--stores=")) {
          if (stores != null) {
            throw new IllegalArgumentException("give --s3 or --stores=LIST once\n" + USAGE);
          }
          stores = a.equals("--s3") ? StoreVariant.WITH_S3 : StoreVariant.parseList(a.substring("--stores=".length()));
        } else if (a.equals("--no-throughput")) {
          noThroughput = true;
        } else if (a.startsWith("--pending-waits=")) {
          pending = positive(a.substring("--pending-waits=".length()), "--pending-waits");
        } else if (a.startsWith("-")) {
          throw new IllegalArgumentException("unknown option '" + a + "'\n" + USAGE);
        } else {
          positional.add(a);
        }
      }
      if (positional.size() > 3) {
        throw new IllegalArgumentException("too many arguments\n" + USAGE);
      }
      int cycles = positional.size() > 0 ? positive(positional.get(0), "cycles") : 25;
      int repeats = positional.size() > 1 ? positive(positional.get(1), "repeats") : 1;
      if (cycles <= WARM_UP) {
        throw new IllegalArgumentException("cycles must exceed the " + WARM_UP + " warm-up cycles: " + cycles + "\n" + USAGE);
      }
      List<StoreVariant> chosen = stores == null ? List.of(StoreVariant.LOCAL) : stores;
      boolean throughput = !noThroughput && chosen.stream().anyMatch(StoreVariant::s3);
      return new Options(cycles, repeats, positional.size() > 2 ? Path.of(positional.get(2)) : null, chosen,
          throughput, List.of(args), pending);
    }

    private static int positive(String s, String what) {
      try {
        int n = Integer.parseInt(s);
        if (n > 0) {
          return n;
        }
      } catch (NumberFormatException e) {
        // reported below
      }
      throw new IllegalArgumentException(what + " must be a positive integer: '" + s + "'\n" + USAGE);
    }
  }

  private final Options options;
  private final List<WorkflowEvent> events = Collections.synchronizedList(new ArrayList<>());
  private final Map<String, CompletableFuture<WorkflowEvent>> restoreFailures = new ConcurrentHashMap<>();
  private final Map<String, WorkflowEvent> lastSuspended = new ConcurrentHashMap<>();
  private final List<String> problems = Collections.synchronizedList(new ArrayList<>());
  /** Each store's samples, once {@link #run} has run them. */
  private final Map<StoreVariant, List<Sample>> results = new LinkedHashMap<>();

  private SnapshotBenchmark(Options options) {
    this.options = options;
  }

  public static void main(String[] args) {
    if (Stream.of(args).anyMatch(a -> a.equals("-h") || a.equals("--help"))) {
      System.out.println(USAGE);
      return;
    }
    System.exit(execute(args).code());
  }

  /** The exit code of a run and the samples of each store, measured or not. */
  record Outcome(int code, Map<StoreVariant, List<Sample>> samples) {}

  /** Runs the benchmark as {@link #main} does; returns the exit code and the samples instead of exiting. */
  static Outcome execute(String[] args) {
    SnapshotBenchmark b = null;
    int code;
    try {
      b = new SnapshotBenchmark(Options.parse(args));
      code = b.run();
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      code = 2;
    } catch (Exception e) {
      System.err.println("torpor-bench: " + e);
      e.printStackTrace();
      code = 1;
    }
    return new Outcome(code, b == null ? Map.of() : b.results);
  }

  /**
   * Runs {@code mainClass args}, a workflow on the embedded examples jar that prints the {@link
   * Cycles} lines for {@code waits} waits, {@code repeats} times on one embedded worker on the
   * local store, as {@code torpor run} would; returns every sample (use {@link #measured} for the
   * ones that count) and adds what went wrong to {@code problems}. CRIU's own stats are read out
   * of each image.
   */
  static List<Sample> runWorkflow(String mainClass, List<String> args, int waits, int repeats, List<String> problems)
      throws IOException, InterruptedException {
    SnapshotBenchmark b = new SnapshotBenchmark(
        new Options(waits, repeats, null, List.of(StoreVariant.LOCAL), false, List.of(), 0));
    CriuEngine criu = CriuEngine.locate();
    Path data = Files.createTempDirectory(Path.of("/tmp"), "torpor-bench-");
    Path runBase = Files.createTempDirectory(Path.of("/tmp"), "tb");
    Lane lane = null;
    boolean complete = true;
    try (BenchStores stores = new BenchStores(data.resolve("stores"))) {
      Path workflowJar = workflowClassPath(data);
      lane = Lane.open(StoreVariant.LOCAL, stores, data.resolve("local"), runBase, criu, b::onEvent);
      for (int r = 1; r <= repeats && complete; r++) {
        complete = b.runOnce(lane, r, workflowJar, true, mainClass, args);
      }
      return List.copyOf(lane.samples);
    } finally {
      if (lane != null) {
        lane.close();
      }
      problems.addAll(b.problems);
      if (complete) {
        deleteTree(data);
        deleteTree(runBase);
        if (lane != null) {
          deleteTree(lane.scratch);
        }
      } else {
        ProcessHandle.current().descendants().forEach(ProcessHandle::destroyForcibly);
        log("kept " + data + " and " + runBase + " for inspection");
      }
    }
  }

  private int run() throws IOException, InterruptedException {
    CriuEngine criu = CriuEngine.locate();
    Path data = Files.createTempDirectory(Path.of("/tmp"), "torpor-bench-");
    Path runBase = Files.createTempDirectory(Path.of("/tmp"), "tb"); // short: unix socket paths live under it
    List<Lane> lanes = new ArrayList<>();
    boolean complete = false;
    try (BenchStores stores = new BenchStores(data.resolve("stores"))) {
      Path workflowJar = workflowClassPath(data);
      log("data dir " + data + ", run dir base " + runBase + ", workflow class path " + workflowJar + ", stores "
          + options.stores());
      // First, in a JVM that has not encrypted anything yet: what a cold cipher costs, and a warm one after.
      Optional<CipherWarmUp.Result> warmUp = Optional.empty();
      if (options.throughput() || options.stores().stream().anyMatch(StoreVariant::encrypted)) {
        warmUp = Optional.of(CipherWarmUp.run(stores.cipher(StoreVariant.S3_ENCRYPTED).orElseThrow()));
      }
      String throughput = options.throughput() ? throughput(stores) : null;
      try {
        for (StoreVariant v : options.stores()) {
          lanes.add(Lane.open(v, stores, data.resolve(v.slug()), runBase, criu, this::onEvent));
        }
        complete = true;
        // The stores take turns, run by run, so that a slow spell of the machine hits each alike.
        for (int r = 1; r <= options.repeats() && complete; r++) {
          for (Lane lane : lanes) {
            complete = complete && runOnce(lane, r, workflowJar, lanes.size() == 1);
          }
        }
      } finally {
        lanes.forEach(Lane::close);
      }
      lanes.forEach(l -> results.put(l.variant, List.copyOf(l.samples)));
      Map<String, String> machine = machine(criu, data);
      machine.putAll(stores.describe());
      String report = lanes.size() == 1
          ? report(lanes.get(0).samples, lanes.get(0).variant)
          : StoreComparison.report(lanes.stream().collect(Collectors.toMap(
              l -> l.variant, l -> l.samples, (a, b) -> a, LinkedHashMap::new)), options.cycles(), options.repeats());
      if (warmUp.isPresent()) {
        double imageMb = lanes.stream().filter(l -> l.variant.encrypted())
            .map(l -> stats(measured(l.samples), s -> s.packedBytes() / 1e6).median()).findFirst().orElse(Double.NaN);
        report = warmUp.get().describe(imageMb) + "\n\n" + report;
      }
      if (throughput != null) {
        report += "\n### Store throughput: upload and download\n\n" + throughput;
      }
      System.out.println();
      System.out.println("Machine:");
      System.out.println();
      machine.forEach((k, v) -> System.out.println("- " + k + ": " + v));
      System.out.println();
      System.out.println(report);
      if (options.markdown() != null) {
        appendMarkdown(options.markdown(), title(), report, machine);
        log("appended the results to " + options.markdown().toAbsolutePath());
      }
    } finally {
      if (!complete) {
        ProcessHandle.current().descendants().forEach(ProcessHandle::destroyForcibly); // a stuck workflow of ours
      }
      if (complete && !Boolean.getBoolean("torpor.bench.keep")) {
        deleteTree(data);
        deleteTree(runBase);
        for (Lane lane : lanes) {
          deleteTree(lane.scratch); // each worker's dump and unpack space, in /dev/shm
        }
      } else {
        log("kept " + data + " and " + runBase + " for inspection");
      }
    }
    problems.forEach(p -> System.err.println("torpor-bench: problem: " + p));
    return complete && problems.isEmpty() ? 0 : 1;
  }

  /** The section's title: which stores it covers. */
  private String title() {
    List<StoreVariant> stores = options.stores();
    if (stores.equals(List.of(StoreVariant.LOCAL))) {
      return options.pendingWaits() == 0 ? "Snapshot benchmark"
          : "Snapshot benchmark, " + (options.pendingWaits() + 1) + " pending waits";
    }
    List<String> names = stores.stream().map(StoreVariant::label).toList();
    String list = names.size() == 1 ? names.get(0)
        : String.join(", ", names.subList(0, names.size() - 1)) + " and " + names.get(names.size() - 1);
    return "Snapshot benchmark on the " + list + " image store" + (names.size() == 1 ? "" : "s");
  }

  // ----- running -----

  /** One store under test with its own worker, and the samples of its runs. */
  private static final class Lane implements AutoCloseable {
    final StoreVariant variant;
    final ImageStore store;
    final Optional<ImageKeyring> keys;
    final InMemorySupervisor supervisor;
    final Worker worker;
    final Path scratch;
    final List<Sample> samples = new ArrayList<>();

    private Lane(StoreVariant variant, ImageStore store, Optional<ImageKeyring> keys, InMemorySupervisor supervisor,
        Worker worker, Path scratch) {
      this.variant = variant;
      this.store = store;
      this.keys = keys;
      this.supervisor = supervisor;
      this.worker = worker;
      this.scratch = scratch;
    }

    /** A worker as {@code torpor run} builds one, on a new store of {@code variant}; its data in {@code data}. */
    static Lane open(StoreVariant variant, BenchStores stores, Path data, Path runBase, CriuEngine criu,
        Consumer<WorkflowEvent> events) throws IOException {
      ImageStore store = stores.open(variant, variant.slug());
      Optional<ImageKeyring> keys = stores.keys(variant);
      InMemorySupervisor supervisor = new InMemorySupervisor();
      try {
        Worker.Config config = new Worker.Config(data, runBase, null, Duration.ofSeconds(5)).withKeys(keys)
            .withImageCache(variant.cached() ? Worker.Config.DEFAULT_IMAGE_CACHE_BYTES : 0)
            .withoutAslr(Boolean.getBoolean("torpor.bench.noAslr"));
        Worker worker = new Worker(config, store, criu, supervisor, events);
        supervisor.attach(worker);
        return new Lane(variant, store, keys, supervisor, worker, worker.scratchDir());
      } catch (IOException | RuntimeException e) {
        supervisor.close();
        throw e;
      }
    }

    @Override
    public void close() {
      worker.close();
      supervisor.close();
    }
  }

  /**
   * Runs the workflow once on {@code lane} and adds its samples; false if it did not complete
   * with its state intact. With {@code criuStats}, reads CRIU's own stats back out of each image.
   */
  private boolean runOnce(Lane lane, int r, Path workflowJar, boolean criuStats)
      throws IOException, InterruptedException {
    return runOnce(lane, r, workflowJar, criuStats, Cycles.class.getName(),
        List.of(Integer.toString(options.cycles()), Integer.toString(options.pendingWaits()), "50",
            Integer.toString(Integer.getInteger("torpor.bench.churnMiB", 0))));
  }

  private boolean runOnce(Lane lane, int r, Path workflowJar, boolean criuStats, String mainClass, List<String> args)
      throws IOException, InterruptedException {
    String id = "bench-" + lane.variant.slug() + "-" + r + "-" + Long.toString(System.currentTimeMillis(), 36);
    restoreFailures.put(id, new CompletableFuture<>());
    lane.worker.start(new WorkflowSpec(id, List.of(workflowJar), mainClass, args, workflowJavaOptions(),
        WorkflowSpec.currentJavaHome()));
    log("run " + r + "/" + options.repeats() + " on " + lane.variant + ": workflow " + id + " (" + mainClass + " "
        + String.join(" ", args) + ") started, " + options.cycles() + " cycles");
    boolean complete = awaitRun(lane.worker, id);
    List<String> output = Files.readAllLines(lane.worker.logFile(id), StandardCharsets.UTF_8);
    List<Sample> got = samples(r, id, output);
    if (criuStats) {
      readCriuStats(lane, id, got);
    }
    lane.samples.addAll(got);
    if (got.size() != options.cycles()) {
      problems.add(lane.variant + " run " + r + ": " + got.size() + " of " + options.cycles() + " cycles observed");
      complete = false;
    }
    if (output.stream().noneMatch(l -> l.startsWith("state intact after"))) {
      problems.add(lane.variant + " run " + r + ": the workflow did not report its state intact (log: "
          + lane.worker.logFile(id) + ")");
      complete = false;
    }
    return complete;
  }

  /**
   * The throughput part: the cipher alone, then the local directory and S3, each in the clear
   * and encrypted, on a directory and a prefix of their own.
   */
  private String throughput(BenchStores stores) throws IOException {
    ImageCipher cipher = stores.cipher(StoreVariant.S3_ENCRYPTED).orElseThrow();
    ImageStore local = stores.open(StoreVariant.LOCAL, "throughput");
    ImageStore s3 = stores.open(StoreVariant.S3, "throughput");
    List<StoreThroughput.Target> targets = List.of(
        StoreThroughput.cipherAlone(cipher),
        new StoreThroughput.Target("local directory", Optional.of(local), Optional.empty()),
        new StoreThroughput.Target("local directory", Optional.of(local), Optional.of(cipher)),
        new StoreThroughput.Target("S3 (S3Proxy)", Optional.of(s3), Optional.empty()),
        new StoreThroughput.Target("S3 (S3Proxy)", Optional.of(s3), Optional.of(cipher)));
    return new StoreThroughput(problems).run(targets);
  }

  private void onEvent(WorkflowEvent e) {
    events.add(e);
    switch (e.type()) {
      case SUSPENDED -> lastSuspended.put(e.workflowId(), e);
      case RESUMED -> {
        WorkflowEvent s = lastSuspended.remove(e.workflowId());
        log(e.workflowId() + " seq " + e.seq() + (s == null
            ? ": resumed in memory (not dumped)"
            : String.format(Locale.ROOT, ": suspended in %.0f ms (%.1f MB raw, %.1f MB packed), resumed in %.0f ms",
                num(s.details(), "suspendMillis"), num(s.details(), "rawBytes") / 1e6,
                num(s.details(), "packedBytes") / 1e6, num(e.details(), "resumeMillis"))));
      }
      case CHECKPOINT_FAILED -> problems.add(e.workflowId() + " seq " + e.seq() + ": checkpoint failed: " + e.details());
      case RESTORE_FAILED -> {
        problems.add(e.workflowId() + " seq " + e.seq() + ": restore failed: " + e.details());
        Optional.ofNullable(restoreFailures.get(e.workflowId())).ifPresent(f -> f.complete(e));
      }
      default -> {
        // STARTED, WAKING, EXITED: kept in the event list
      }
    }
  }

  private boolean awaitRun(Worker worker, String id) throws InterruptedException {
    Duration timeout = Duration.ofSeconds(120 + 30L * options.cycles());
    try {
      Object r = CompletableFuture.anyOf(worker.exitFuture(id), restoreFailures.get(id))
          .get(timeout.toSeconds(), TimeUnit.SECONDS);
      if (r instanceof Integer code) {
        if (code != 0) {
          problems.add(id + " exited with " + code + " (log: " + worker.logFile(id) + ")");
        }
        return code == 0;
      }
      return false; // a restore failed: the workflow cannot go on
    } catch (TimeoutException e) {
      problems.add(id + " did not finish within " + timeout.toSeconds() + " s (log: " + worker.logFile(id) + ")");
      return false;
    } catch (java.util.concurrent.ExecutionException e) {
      problems.add(id + " failed: " + e.getCause());
      return false;
    }
  }

  /**
   * The workflow's class path: where {@link Cycles} was loaded from, as {@code torpor run --jar}
   * would pass it. When that is this shaded jar (which holds the launcher and its libraries too),
   * the examples jar embedded in it instead, so the workflow JVM, and its image, are the same as
   * with the plain examples jar.
   */
  static Path workflowClassPath(Path dataDir) throws IOException {
    Path examples = codeSource(Cycles.class);
    Path own = codeSource(SnapshotBenchmark.class);
    if (!examples.equals(own)) {
      return examples;
    }
    try (InputStream in = SnapshotBenchmark.class.getResourceAsStream(EMBEDDED_WORKFLOW_JAR)) {
      if (in == null) {
        log("no embedded examples jar; the workflow runs with " + own + " on its class path");
        return own;
      }
      Path jar = dataDir.resolve("workflow").resolve("torpor-examples.jar");
      Files.createDirectories(jar.getParent());
      Files.copy(in, jar, StandardCopyOption.REPLACE_EXISTING);
      return jar;
    }
  }

  static Path codeSource(Class<?> c) throws IOException {
    CodeSource cs = c.getProtectionDomain().getCodeSource();
    if (cs == null || cs.getLocation() == null) {
      throw new IOException("cannot tell where " + c.getName() + " was loaded from");
    }
    try {
      return Path.of(cs.getLocation().toURI()).toAbsolutePath().normalize();
    } catch (URISyntaxException e) {
      throw new IOException("odd code source of " + c.getName() + ": " + cs.getLocation(), e);
    }
  }

  // ----- samples -----

  /**
   * The samples of one run: its events cut at each RESUMED (every wait ends with one, dumped
   * or not), matched in order with the workflow's per-cycle output lines.
   */
  private List<Sample> samples(int run, String id, List<String> output) {
    List<long[]> stamps = new ArrayList<>(); // [waitCalledAtMicros, resumedAtMicros], by cycle
    for (String line : output) {
      Matcher m = CYCLE_LINE.matcher(line);
      if (m.find()) {
        stamps.add(new long[] {Long.parseLong(m.group(3)), Long.parseLong(m.group(4))});
      }
    }
    List<WorkflowEvent> mine;
    synchronized (events) {
      mine = events.stream().filter(e -> e.workflowId().equals(id)).toList();
    }
    List<Sample> out = new ArrayList<>();
    WorkflowEvent suspended = null;
    WorkflowEvent waking = null;
    for (WorkflowEvent e : mine) {
      switch (e.type()) {
        case SUSPENDED -> suspended = e;
        case WAKING -> waking = e;
        case RESUMED -> {
          int cycle = out.size() + 1;
          long[] st = cycle <= stamps.size() ? stamps.get(cycle - 1) : null;
          out.add(sample(run, cycle, suspended, waking, e, st));
          suspended = null;
          waking = null;
        }
        default -> {
          // nothing to measure
        }
      }
    }
    return out;
  }

  private static Sample sample(int run, int cycle, WorkflowEvent suspended, WorkflowEvent waking, WorkflowEvent resumed,
      long[] stamps) {
    double e2eSuspend = suspended != null && stamps != null ? (micros(suspended.at()) - stamps[0]) / 1e3 : Double.NaN;
    double e2eResume = waking != null && stamps != null ? (stamps[1] - micros(waking.at())) / 1e3 : Double.NaN;
    double workerSuspend = suspended == null ? Double.NaN : num(suspended.details(), "suspendMillis");
    double workerResume = num(resumed.details(), "resumeMillis");

    Map<String, Double> sp = new LinkedHashMap<>();
    if (suspended != null) {
      Map<String, Double> t = timings(suspended.details());
      sp.put(S_AGENT, e2eSuspend - workerSuspend);
      sp.put(S_SYNC, t.getOrDefault("sync", 0.0));
      sp.put(S_DUMP, t.getOrDefault("dump", 0.0));
      sp.put(S_PACK, t.getOrDefault("packUpload", 0.0));
      sp.put(S_COMMIT, t.getOrDefault("commit", 0.0));
      sp.put(S_OTHER, workerSuspend - t.values().stream().mapToDouble(Double::doubleValue).sum());
    }
    Map<String, Double> rp = new LinkedHashMap<>();
    if (suspended != null) {
      Map<String, Double> t = timings(resumed.details());
      double fetch = t.getOrDefault("fetchVerifyUnpack", 0.0) + t.getOrDefault("fromCache", 0.0);
      double restore = t.getOrDefault("restoreDeliver", 0.0);
      double sandbox = t.getOrDefault("sandbox", 0.0); // part of restoreDeliver
      double hooks = num(resumed.details(), "afterRestoreHooksMillis");
      rp.put(R_FETCH, fetch);
      rp.put(R_SANDBOX, sandbox);
      rp.put(R_RESTORE, restore - sandbox);
      rp.put(R_HOOKS, hooks);
      rp.put(R_UNTIMED, e2eResume - fetch - restore - hooks);
    }
    return new Sample(run, cycle, suspended != null, suspended == null ? -1 : suspended.seq(),
        e2eSuspend, workerSuspend, e2eResume, workerResume,
        suspended == null ? -1 : (long) num(suspended.details(), "rawBytes"),
        suspended == null ? -1 : (long) num(suspended.details(), "packedBytes"),
        sp, rp, Optional.empty(), restoreStats(resumed));
  }

  private void readCriuStats(Lane lane, String id, List<Sample> got) {
    for (int i = 0; i < got.size(); i++) {
      Sample s = got.get(i);
      if (!s.dumped() || s.cycle() <= WARM_UP) {
        continue;
      }
      ImageKey key = new ImageKey(id, s.seq());
      try {
        Optional<DumpStats> d = DumpStats.fromImage(lane.store, lane.store.manifest(key).orElseThrow(), lane.keys);
        got.set(i, new Sample(s.run(), s.cycle(), true, s.seq(), s.suspendMillis(), s.workerSuspendMillis(),
            s.resumeMillis(), s.workerResumeMillis(), s.rawBytes(), s.packedBytes(), s.suspendPhases(),
            s.resumePhases(), d, s.restoreStats()));
      } catch (IOException | RuntimeException e) {
        log("cannot read CRIU's stats of " + id + " seq " + s.seq() + ": " + e);
      }
    }
  }

  /** CRIU's restore timings the worker put in a RESUMED event ({@code criuRestore}, {@code criuForking}), if any. */
  private static Map<String, Double> restoreStats(WorkflowEvent resumed) {
    Map<String, Double> t = timings(resumed.details());
    return t.containsKey("criuRestore") && t.containsKey("criuForking")
        ? Map.of("criuRestore", t.get("criuRestore"), "criuForking", t.get("criuForking")) : Map.of();
  }

  /** The workflow JVMs' options from {@code -Dtorpor.bench.javaOpts} (snapshot and density parts), to measure flags. */
  static List<String> workflowJavaOptions() {
    String opts = System.getProperty("torpor.bench.javaOpts", "").strip();
    return opts.isEmpty() ? List.of() : List.of(opts.split("\\s+"));
  }

  // ----- report -----

  /** Samples that count: dumped, after the warm-up cycles. */
  static List<Sample> measured(List<Sample> all) {
    return all.stream().filter(s -> s.dumped() && s.cycle() > WARM_UP).toList();
  }

  /**
   * The suspend and resume p50 targets of a store, ms: issue #15's (local: 50 and 20; S3: resume 25
   * from the worker's cache, 150 without), issue #4's S3 suspend (250) and issue #2's resume for
   * the local store without the cache (150).
   */
  static double[] targets(StoreVariant store) {
    if (store.s3()) {
      return new double[] {S3_SUSPEND_TARGET_MS, store.cached() ? S3_CACHED_RESUME_TARGET_MS : S3_RESUME_TARGET_MS};
    }
    return new double[] {SUSPEND_TARGET_MS, store.cached() ? RESUME_TARGET_MS : NOCACHE_RESUME_TARGET_MS};
  }

  private String report(List<Sample> all, StoreVariant store) {
    List<Sample> measured = measured(all);
    double suspendTarget = targets(store)[0];
    double resumeTarget = targets(store)[1];
    long inMemory = all.stream().filter(s -> !s.dumped()).count();
    StringBuilder out = new StringBuilder();
    out.append(String.format(Locale.ROOT,
        "Cycles workflow (`Durable.waitFor(50 ms)` in a loop, %d-entry map on the heap%s): %d cycles × %d run(s).%n",
        Cycles.MAP_ENTRIES, options.pendingWaits() == 0 ? ""
            : "; " + options.pendingWaits() + " more threads wait on signals, so each checkpoint holds "
                + (options.pendingWaits() + 1) + " waits", options.cycles(), options.repeats()));
    if (Boolean.getBoolean("torpor.bench.noAslr")) {
      out.append("Workers as with `--no-aslr`: no address space randomization, class data archive not relocated.\n");
    }
    if (!workflowJavaOptions().isEmpty()) {
      out.append("Workflow JVM options: `").append(String.join(" ", workflowJavaOptions())).append("`.\n");
    }
    out.append(String.format(Locale.ROOT,
        "Warm-up: cycles 1–%d of each run are left out; %d samples measured%s.%n%n", WARM_UP, measured.size(),
        inMemory == 0 ? "" : "; " + inMemory + " wait(s) were served in memory (not dumped) and are left out too"));
    if (measured.isEmpty()) {
      out.append("No samples: nothing to report.\n");
      return out.toString();
    }

    Stats suspend = stats(measured, Sample::suspendMillis);
    Stats resume = stats(measured, Sample::resumeMillis);
    Stats raw = stats(measured, s -> s.rawBytes() / 1e6);
    Stats packed = stats(measured, s -> s.packedBytes() / 1e6);
    Table t = new Table("metric", "median", "p95", "min", "max", "target");
    t.row("suspend latency, ms (wait call → image committed, process gone)", ms(suspend.median()), ms(suspend.p95()),
        ms(suspend.min()), ms(suspend.max()), "p50 ≤ " + ms(suspendTarget));
    t.row("resume latency, ms (wake sent → first statement after the wait)", ms(resume.median()), ms(resume.p95()),
        ms(resume.min()), ms(resume.max()), "p50 ≤ " + ms(resumeTarget));
    t.row("raw image, MB", mb(raw.median()), mb(raw.p95()), mb(raw.min()), mb(raw.max()), "");
    t.row("stored image, MB (its own data object: new chunks and index)", mb(packed.median()), mb(packed.p95()), mb(packed.min()), mb(packed.max()),
        "≤ " + mb(PACKED_TARGET_BYTES / 1e6));
    Stats ws = stats(measured, Sample::workerSuspendMillis);
    Stats wr = stats(measured, Sample::workerResumeMillis);
    t.row("  worker's suspendMillis (SUSPEND received → committed), ms", ms(ws.median()), ms(ws.p95()), ms(ws.min()),
        ms(ws.max()), "");
    t.row("  worker's resumeMillis (wake → RESUMED received), ms", ms(wr.median()), ms(wr.p95()), ms(wr.min()),
        ms(wr.max()), "");
    out.append(t).append('\n');

    Map<String, Stats> sPhases = phases(measured, Sample::suspendPhases);
    Map<String, Stats> rPhases = phases(measured, Sample::resumePhases);
    out.append("Suspend phases (share = phase median ÷ median suspend latency; medians need not add up):\n\n");
    out.append(phaseTable(sPhases, suspend.median())).append('\n');
    out.append("Resume phases (share = phase median ÷ median resume latency):\n\n");
    out.append(phaseTable(rPhases, resume.median())).append('\n');

    List<DumpStats> criuStats = measured.stream().flatMap(s -> s.criu().stream()).toList();
    if (!criuStats.isEmpty()) {
      Stats dumpPhase = sPhases.get(S_DUMP);
      out.append("Inside the dump phase (CRIU's own stats-dump, stored in each image; share of the median dump phase):\n\n");
      Table c = new Table("criu dump", "median", "p95", "share of dump");
      addCriu(c, "freezing the tree, ms", criuStats, DumpStats::freezingMillis, dumpPhase.median());
      addCriu(c, "frozen (tree stopped until killed), ms", criuStats, DumpStats::frozenMillis, dumpPhase.median());
      addCriu(c, "  of which memdump (collect pages), ms", criuStats, DumpStats::memdumpMillis, dumpPhase.median());
      addCriu(c, "  of which memwrite (write pages), ms", criuStats, DumpStats::memwriteMillis, dumpPhase.median());
      List<Double> outside = new ArrayList<>();
      for (Sample s : measured) {
        s.criu().ifPresent(d -> outside.add(s.suspendPhases().get(S_DUMP) - d.freezingMillis() - d.frozenMillis()));
      }
      Stats o = Stats.of(outside);
      c.row("criu start-up, tree collection, exit (dump − freezing − frozen), ms", ms(o.median()), ms(o.p95()),
          pct(o.median() / dumpPhase.median()));
      Stats pages = Stats.of(criuStats.stream().map(d -> d.pagesWritten() * 4096 / 1e6).toList());
      Stats scanned = Stats.of(criuStats.stream().map(d -> d.pagesScanned() * 4096 / 1e6).toList());
      c.row("pages written, MB (of scanned)", mb(pages.median()) + " (of " + mb(scanned.median()) + ")",
          mb(pages.p95()) + " (of " + mb(scanned.p95()) + ")", "");
      out.append(c).append('\n');
    }

    List<Map<String, Double>> restores = measured.stream().map(Sample::restoreStats).filter(m -> !m.isEmpty()).toList();
    if (!restores.isEmpty()) {
      out.append(String.format(Locale.ROOT, "Inside the restore (CRIU's own stats-restore, read when the JVM reports"
          + " back; %d of %d samples had it): the whole restore %s ms p50 (%s p95), of which forking the tasks %s ms.%n%n",
          restores.size(), measured.size(), ms(Stats.of(restores.stream().map(m -> m.get("criuRestore")).toList()).median()),
          ms(Stats.of(restores.stream().map(m -> m.get("criuRestore")).toList()).p95()),
          ms(Stats.of(restores.stream().map(m -> m.get("criuForking")).toList()).median())));
    }

    out.append("Targets (2-core machine):\n\n");
    out.append(verdict("suspend p50", suspend.median(), suspendTarget, "ms", sPhases)).append('\n');
    out.append(verdict("resume p50", resume.median(), resumeTarget, "ms", rPhases)).append('\n');
    double packedTargetMb = PACKED_TARGET_BYTES / 1e6;
    if (packed.p95() <= packedTargetMb) {
      out.append(String.format(Locale.ROOT, "- packed image p95 %s MB ≤ %s MB: met (max %s MB)%n",
          mb(packed.p95()), mb(packedTargetMb), mb(packed.max())));
    } else {
      out.append(String.format(Locale.ROOT,
          "- packed image p95 %s MB > %s MB: MISSED by %s MB (%s); raw image %s MB, packed to %s of it%n",
          mb(packed.p95()), mb(packedTargetMb), mb(packed.p95() - packedTargetMb),
          pct((packed.p95() - packedTargetMb) / packedTargetMb), mb(raw.median()), pct(packed.median() / raw.median())));
    }
    if (Runtime.getRuntime().availableProcessors() != 2) {
      out.append(String.format(Locale.ROOT, "%nThe targets are for 2 cores; this machine has %d.%n",
          Runtime.getRuntime().availableProcessors()));
    }
    if (measured.size() < 20) {
      out.append(String.format(Locale.ROOT, "%nOnly %d samples: issue #2 asks for at least 20 measured cycles.%n",
          measured.size()));
    }
    return out.toString();
  }

  static String verdict(String what, double value, double target, String unit, Map<String, Stats> phases) {
    if (value <= target) {
      return String.format(Locale.ROOT, "- %s %s %s ≤ %s %s: met", what, ms(value), unit, ms(target), unit);
    }
    List<Map.Entry<String, Stats>> top = phases.entrySet().stream()
        .sorted(Comparator.comparingDouble((Map.Entry<String, Stats> e) -> e.getValue().median()).reversed())
        .limit(2)
        .toList();
    StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "- %s %s %s > %s %s: MISSED by %s %s (+%s); ",
        what, ms(value), unit, ms(target), unit, ms(value - target), unit, pct((value - target) / target)));
    s.append("the time goes to ");
    for (int i = 0; i < top.size(); i++) {
      Map.Entry<String, Stats> e = top.get(i);
      s.append(i == 0 ? "" : ", then ").append('`').append(e.getKey()).append("` ")
          .append(ms(e.getValue().median())).append(' ').append(unit)
          .append(" (").append(pct(e.getValue().median() / value)).append(')');
    }
    return s.toString();
  }

  static Map<String, Stats> phases(List<Sample> samples, Function<Sample, Map<String, Double>> of) {
    Map<String, List<Double>> values = new LinkedHashMap<>();
    for (Sample s : samples) {
      of.apply(s).forEach((k, v) -> values.computeIfAbsent(k, x -> new ArrayList<>()).add(v));
    }
    Map<String, Stats> out = new LinkedHashMap<>();
    values.forEach((k, v) -> out.put(k, Stats.of(v)));
    return out;
  }

  private static Table phaseTable(Map<String, Stats> phases, double total) {
    Table t = new Table("phase", "median ms", "p95 ms", "share");
    phases.forEach((k, v) -> t.row(k, ms(v.median()), ms(v.p95()), pct(v.median() / total)));
    return t;
  }

  private static void addCriu(Table t, String label, List<DumpStats> d, ToDoubleFunction<DumpStats> f, double dump) {
    Stats s = Stats.of(d.stream().map(x -> f.applyAsDouble(x)).toList());
    t.row(label, ms(s.median()), ms(s.p95()), pct(s.median() / dump));
  }

  static Stats stats(List<Sample> samples, ToDoubleFunction<Sample> f) {
    return Stats.of(samples.stream().map(s -> f.applyAsDouble(s)).toList());
  }

  // ----- Markdown file -----

  private void appendMarkdown(Path file, String title, String report, Map<String, String> machine) throws IOException {
    String date = ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME);
    StringBuilder md = new StringBuilder();
    md.append("\n## ").append(title).append(", ").append(date, 0, 10).append("\n\n");
    md.append("Machine:\n\n");
    machine.forEach((k, v) -> md.append("- ").append(k).append(": ").append(v).append('\n'));
    md.append("\nCommand: `java -jar bench/target/torpor-bench.jar ").append(String.join(" ", options.args()))
        .append("`\n\n");
    md.append(report);
    if (file.toAbsolutePath().getParent() != null) {
      Files.createDirectories(file.toAbsolutePath().getParent());
    }
    Files.writeString(file, md, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
  }

  static Map<String, String> machine(CriuEngine criu, Path data) {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("CPUs (`nproc`)", command("nproc").orElse(Integer.toString(Runtime.getRuntime().availableProcessors())));
    m.put("CPU", firstValue(Path.of("/proc/cpuinfo"), "model name").orElse("unknown"));
    m.put("memory (MemTotal)", firstValue(Path.of("/proc/meminfo"), "MemTotal").orElse("unknown"));
    m.put("kernel (`uname -r`)", command("uname", "-r").orElse(System.getProperty("os.version")));
    m.put("JDK", System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ", "
        + System.getProperty("java.vm.name") + ")");
    m.put("CRIU", criu.version() + " (" + criu.binary() + ")");
    m.put("image store", "local directory on " + filesystemOf(data).orElse("an unknown file system"));
    m.put("date", ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
    return m;
  }

  private static Optional<String> command(String... cmd) {
    return command(10, cmd);
  }

  /** What {@code cmd} printed, if it exited 0 within {@code timeoutSeconds} and printed something. */
  static Optional<String> command(long timeoutSeconds, String... cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      return p.waitFor(timeoutSeconds, TimeUnit.SECONDS) && p.exitValue() == 0 && !out.isEmpty()
          ? Optional.of(out) : Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }

  private static Optional<String> firstValue(Path file, String key) {
    try (Stream<String> lines = Files.lines(file)) {
      return lines.filter(l -> l.startsWith(key)).map(l -> l.substring(l.indexOf(':') + 1).strip()).findFirst();
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /** The type and device of the mount that holds {@code dir}, from /proc/self/mounts. */
  static Optional<String> filesystemOf(Path dir) {
    try (Stream<String> lines = Files.lines(Path.of("/proc/self/mounts"))) {
      String abs = dir.toAbsolutePath().toString();
      return lines.map(l -> l.split(" "))
          .filter(f -> f.length > 2 && (abs.equals(f[1]) || abs.startsWith(f[1].endsWith("/") ? f[1] : f[1] + "/")))
          .max(Comparator.comparingInt(f -> f[1].length()))
          .map(f -> f[2] + " (" + f[0] + " at " + f[1] + ")");
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  // ----- helpers -----

  /** A Markdown table with padded columns, readable as plain text too. */
  static final class Table {
    private final List<String[]> rows = new ArrayList<>();

    Table(String... header) {
      rows.add(header);
    }

    void row(String... cells) {
      rows.add(cells);
    }

    @Override
    public String toString() {
      int cols = rows.get(0).length;
      int[] w = new int[cols];
      for (String[] r : rows) {
        for (int i = 0; i < cols; i++) {
          w[i] = Math.max(w[i], Math.max(3, r[i].length()));
        }
      }
      StringBuilder s = new StringBuilder();
      for (int n = 0; n < rows.size(); n++) {
        line(s, rows.get(n), w);
        if (n == 0) {
          s.append('|');
          for (int i = 0; i < cols; i++) {
            s.append(i == 0 ? " :" + "-".repeat(w[i] - 1) + " |" : " " + "-".repeat(w[i] - 1) + ": |");
          }
          s.append('\n');
        }
      }
      return s.toString();
    }

    private static void line(StringBuilder s, String[] r, int[] w) {
      s.append('|');
      for (int i = 0; i < w.length; i++) {
        String cell = r[i];
        String pad = " ".repeat(w[i] - cell.length());
        s.append(' ').append(i == 0 ? cell + pad : pad + cell).append(" |");
      }
      s.append('\n');
    }
  }

  private static Map<String, Double> timings(Map<String, Object> details) {
    Map<String, Double> out = new LinkedHashMap<>();
    if (details.get("timings") instanceof Map<?, ?> m) {
      m.forEach((k, v) -> {
        if (v instanceof Number n) {
          out.put(String.valueOf(k), n.doubleValue());
        }
      });
    }
    return out;
  }

  private static double num(Map<String, Object> details, String key) {
    return details.get(key) instanceof Number n ? n.doubleValue() : Double.NaN;
  }

  private static long micros(Instant t) {
    return t.getEpochSecond() * 1_000_000L + t.getNano() / 1_000;
  }

  static String ms(double v) {
    return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, "%.1f", v);
  }

  static String mb(double v) {
    return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, "%.2f", v);
  }

  static String pct(double v) {
    return Double.isNaN(v) || Double.isInfinite(v) ? "–" : String.format(Locale.ROOT, "%.0f%%", v * 100);
  }

  private static void log(String msg) {
    System.err.println("torpor-bench: " + msg);
  }

  /** Deletes {@code dir} and everything under it, if it exists. */
  static void deleteTree(Path dir) throws IOException {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
