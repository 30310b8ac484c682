package dev.torpor.launcher.internal;

import dev.torpor.WorkflowId;
import dev.torpor.scheduler.Wakeup;
import dev.torpor.scheduler.WorkerCallbacks;
import dev.torpor.Signal;
import dev.torpor.TorporException;
import dev.torpor.internal.SupervisedRuntime;
import dev.torpor.internal.protocol.Frame;
import dev.torpor.internal.protocol.FrameCodec;
import dev.torpor.internal.protocol.ProtocolException;
import dev.torpor.internal.protocol.Resumed;
import dev.torpor.internal.protocol.Suspend;
import dev.torpor.WaitKind;
import dev.torpor.internal.protocol.Wake;
import dev.torpor.WakeReason;
import dev.torpor.launcher.internal.WorkflowEvent.Type;
import dev.torpor.launcher.internal.WorkflowRun.State;
import dev.torpor.scheduler.CrashPoint;
import dev.torpor.storage.ImageKey;
import dev.torpor.storage.ImageManifest;
import dev.torpor.storage.ImageStore;
import dev.torpor.storage.crypto.ImageKeyring;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * Runs workflow JVMs and moves them between running and frozen: launches them in fresh PID
 * and time namespaces, dumps them when their agent asks, packs and commits the image, and
 * restores the image and delivers the wake when its {@link WorkerCallbacks} (the control plane, or an
 * {@link InMemorySupervisor}) says so. Every wake is
 * fenced by the image's seq: a wake for an older seq, or for a workflow that is not waiting,
 * is ignored, so one image never runs twice.
 */
public final class Worker implements AutoCloseable {
  /** The longest path a unix socket may have (sun_path is 108 bytes with the NUL). */
  private static final int MAX_SOCKET_PATH = 107;

  private final Config config;
  private final CheckpointEngine engine;
  private final WorkerCallbacks callbacks;
  private final Consumer<WorkflowEvent> events;
  private final ImageIo images;
  private final Map<String, WorkflowRun> runs = new ConcurrentHashMap<>();
  private final ExecutorService tasks = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "torpor-worker");
    t.setDaemon(true);
    return t;
  });
  private final List<Path> agentJars;
  private final Sandbox sandbox;
  private final Scratch scratch;
  /** With {@link Config#noAslr}: the JVM is exec'd by {@code setarch -R}, which sets ADDR_NO_RANDOMIZE first. */
  static final List<String> NO_ASLR_PREFIX = List.of("setarch", "-R");
  /** With {@link Config#noAslr}: the class data archive stays at its base address, its pages clean (not dumped). */
  static final List<String> NO_ASLR_JAVA_OPTIONS = List.of("-XX:+UnlockDiagnosticVMOptions", "-XX:ArchiveRelocationMode=0");

  /** Committed images' dumps kept for a wake on this worker. */
  private final ImageCache cache;
  /**
   * Starts every workflow process (launch and restore). The processes are told to die
   * with the thread that started them (PR_SET_PDEATHSIG), so that thread must live as long as
   * the worker: one thread, never idle-reaped.
   */
  private final ExecutorService spawner = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "torpor-spawner");
    t.setDaemon(true);
    return t;
  });

  /**
   * How a worker is set up.
   *
   * @param dataDir logs and the agent jars
   * @param runBase where workflow run directories (their sockets and working directory) go;
   *     must be short, and the same on every worker that may restore the same image
   * @param tee where workflow output is copied besides the log (null for nowhere)
   * @param syncTimeout how long to wait for output before a dump to reach the log
   * @param scratchBase where this worker makes its private scratch directory, in which dumps are
   *     written and images unpacked for a restore; a tmpfs saves a disk write and read of every image
   * @param commitRetry how long to keep retrying an image commit the store refuses (it is down,
   *     throttling, unreachable) before the workflow is restored from its local dump and waits
   *     in memory instead
   * @param keys the image keys: when present, every image is encrypted under the current key
   *     and its manifest signed, and only signed manifests are restored
   * @param libDir where a cluster worker keeps the application jars it fetches from the store (the
   *     jars a workflow sees are copied from there under the run base)
   * @param cluster whether this worker shares its workflows with others: its workflow JVMs then die
   *     with it (so that another worker may resume them from their images without a second live
   *     copy), and a stale JVM found in a workflow's run directory is killed before the workflow
   *     runs there
   * @param user the unprivileged identity workflow JVMs run as (see {@link Sandbox})
   * @param minCheckpointWait a timer wait (or a signal wait's deadline) due sooner than this is held
   *     in memory instead of checkpointed (zero: every wait checkpoints); if the worker dies meanwhile
   *     the workflow resumes from its last image, as for any segment that was running
   * @param imageCacheBytes how much of the scratch directory keeps the dumps of committed images,
   *     so that waking one on this worker restores it without fetching and unpacking it (0: none)
   * @param noAslr an opt-in that weakens a defence for smaller images: workflow JVMs start with the
   *     {@code ADDR_NO_RANDOMIZE} personality ({@code setarch -R}, set again at each restore),
   *     and map the JDK's class data archive at its base address ({@code
   *     -XX:ArchiveRelocationMode=0}) instead of relocating it, which dirties every page of it
   * @param imageFormat the format new images are written in: {@link ImageManifest#FORMAT_CHUNKED}
   *     (the default: only chunks the workflow's previous image lacks are stored), or {@link
   *     ImageManifest#FORMAT_TAR} while workers of an older Torpor, which read only that, share the
   *     store. Images of both formats are always read
   */
  public record Config(Path dataDir, Path runBase, OutputStream tee, Duration syncTimeout, Path scratchBase,
      Duration commitRetry, Optional<ImageKeyring> keys, Path libDir, boolean cluster, WorkflowUser user,
      Duration minCheckpointWait, long imageCacheBytes, boolean noAslr, int imageFormat) {
    /** The default of {@link #commitRetry}. */
    public static final Duration DEFAULT_COMMIT_RETRY = Duration.ofSeconds(60);
    /** The default of {@link #imageCacheBytes}: some ten images of a small workflow. */
    public static final long DEFAULT_IMAGE_CACHE_BYTES = 256L << 20;

    public Config(Path dataDir, Path runBase, OutputStream tee, Duration syncTimeout) {
      this(dataDir, runBase, tee, syncTimeout, Scratch.defaultBase(dataDir), DEFAULT_COMMIT_RETRY, Optional.empty(),
          dataDir, false, WorkflowUser.DEFAULT, Duration.ZERO, DEFAULT_IMAGE_CACHE_BYTES, false, ImageManifest.FORMAT);
    }

    /** This configuration with another commit retry window. */
    public Config withCommitRetry(Duration window) {
      return new Config(dataDir, runBase, tee, syncTimeout, scratchBase, window, keys, libDir, cluster, user, minCheckpointWait, imageCacheBytes, noAslr, imageFormat);
    }

    /** This configuration with image encryption and manifest signing under {@code keyring} (if present). */
    public Config withKeys(Optional<ImageKeyring> keyring) {
      return new Config(dataDir, runBase, tee, syncTimeout, scratchBase, commitRetry, keyring, libDir, cluster, user, minCheckpointWait, imageCacheBytes, noAslr, imageFormat);
    }

    /** This configuration with jars under {@code lib}. */
    public Config withLibDir(Path lib) {
      return new Config(dataDir, runBase, tee, syncTimeout, scratchBase, commitRetry, keys, lib, cluster, user, minCheckpointWait, imageCacheBytes, noAslr, imageFormat);
    }

    /** This configuration for a worker of a cluster (see {@link #cluster}). */
    public Config inCluster() {
      return new Config(dataDir, runBase, tee, syncTimeout, scratchBase, commitRetry, keys, libDir, true, user, minCheckpointWait, imageCacheBytes, noAslr, imageFormat);
    }

    /** This configuration with workflow JVMs running as {@code u}. */
    public Config withUser(WorkflowUser u) {
      return new Config(dataDir, runBase, tee, syncTimeout, scratchBase, commitRetry, keys, libDir, cluster, u, minCheckpointWait, imageCacheBytes, noAslr, imageFormat);
    }

    /** This configuration holding waits due within {@code min} in memory (see {@link #minCheckpointWait}). */
    public Config withMinCheckpointWait(Duration min) {
      if (min.isNegative()) {
        throw new IllegalArgumentException("--min-checkpoint-wait must not be negative, got " + min);
      }
      return new Config(dataDir, runBase, tee, syncTimeout, scratchBase, commitRetry, keys, libDir, cluster, user, min, imageCacheBytes, noAslr, imageFormat);
    }

    /** This configuration with a hot image cache of {@code bytes} (0: none; see {@link ImageCache}). */
    public Config withImageCache(long bytes) {
      if (bytes < 0) {
        throw new IllegalArgumentException("--image-cache must not be negative, got " + bytes);
      }
      return new Config(dataDir, runBase, tee, syncTimeout, scratchBase, commitRetry, keys, libDir, cluster, user,
          minCheckpointWait, bytes, noAslr, imageFormat);
    }

    /** This configuration with workflow JVMs laid out without address space randomization (see {@link #noAslr}). */
    public Config withoutAslr(boolean off) {
      return new Config(dataDir, runBase, tee, syncTimeout, scratchBase, commitRetry, keys, libDir, cluster, user,
          minCheckpointWait, imageCacheBytes, off, imageFormat);
    }

    /** This configuration writing new images in {@code format} (see {@link #imageFormat}). */
    public Config withImageFormat(int format) {
      if (format != ImageManifest.FORMAT_TAR && format != ImageManifest.FORMAT_CHUNKED) {
        throw new IllegalArgumentException("--image-format must be " + ImageManifest.FORMAT_TAR + " or "
            + ImageManifest.FORMAT_CHUNKED + ", got " + format);
      }
      return new Config(dataDir, runBase, tee, syncTimeout, scratchBase, commitRetry, keys, libDir, cluster, user,
          minCheckpointWait, imageCacheBytes, noAslr, format);
    }

    public Config(Path dataDir, Path runBase) {
      this(dataDir, runBase, null, Duration.ofSeconds(5));
    }
  }

  public Worker(
      Config config, ImageStore store, CheckpointEngine engine, WorkerCallbacks callbacks, Consumer<WorkflowEvent> events)
      throws IOException {
    this.config = config;
    // Workflow JVMs die with their worker, launched or restored: a JVM that outlived it would run on
    // unsupervised (waiting in memory for a wake that cannot come) while its workflow resumes
    // from its image elsewhere or at the next start.
    this.engine = engine instanceof CriuEngine criu ? criu.diesWithParent() : engine;
    this.images = new ImageIo(store, config.keys(), config.commitRetry(), this.engine, WorkflowSpec.currentJavaHome(),
        config.imageFormat());
    images.warmUpInBackground();
    this.callbacks = callbacks;
    this.events = events;
    PrivateDirs.ensure(config.dataDir());
    PrivateDirs.ensure(PrivateDirs.ensure(config.dataDir().resolve("logs")).resolve("launcher"));
    config.user().checkUnused();
    this.sandbox = new Sandbox(config.user(), config.runBase());
    int swept = sandbox.roots().sweepDead();
    if (swept > 0) {
      System.err.println("torpor worker: deleted " + swept + " workflow root(s) left by workers that died");
    }
    if (config.cluster()) {
      // Dumps, restores and unshipped output a crashed incarnation left: their segments were
      // lost with it and run again from the store, printing again.
      List<Long> orphans = new ArrayList<>(ProcessScan.killOrphansUnder(config.runBase()));
      orphans.addAll(ProcessScan.killOrphansOf(config.user().namespaceRootUid()));
      if (!orphans.isEmpty()) {
        System.err.println("torpor worker: killed workflow JVM(s) " + orphans + " that no worker holds (left by a restore"
            + " that died half-way); their workflows resume from the store");
      }
      dropOutputSpool();
    }
    this.scratch = Scratch.create(config.scratchBase(), config.dataDir());
    this.cache = new ImageCache(scratch.cache(), config.imageCacheBytes(), this::evicted);
    this.agentJars = AgentJars.extract(sandbox.library().dir());
  }

  /** This worker's scratch directory (dumps and unpacked images). */
  public Path scratchDir() {
    return scratch.dir();
  }

  /** The log of a workflow: everything it printed, each line once, across every restore. */
  public Path logFile(String workflowId) {
    return config.dataDir().resolve("logs").resolve(WorkflowId.of(workflowId).value() + ".log");
  }

  /**
   * Where the commands that start a workflow's JVM (its sandbox's shells, {@code setpriv}) complain:
   * beside the logs, in a directory of their own so that no workflow's name meets them.
   */
  public Path launcherLog(String workflowId) {
    return config.dataDir().resolve("logs/launcher").resolve(WorkflowId.of(workflowId).value() + ".log");
  }

  /** The run directory of a workflow: its working directory and sockets. */
  public Path runDir(String workflowId) {
    String hash = HexFormat.of().formatHex(ImagePacker.sha256().digest(workflowId.getBytes(StandardCharsets.UTF_8)));
    Path dir = config.runBase().toAbsolutePath().resolve(hash.substring(0, 16));
    if (dir.resolve(SupervisedRuntime.CONTROL_SOCKET).toString().length() > MAX_SOCKET_PATH) {
      throw new TorporException("run directory base " + config.runBase() + " is too long for unix sockets"
          + " (paths must stay under " + MAX_SOCKET_PATH + " bytes): choose a shorter --run-dir");
    }
    return dir;
  }

  /**
   * Copies class path entries into the workflow library, as a start does, so that an image another
   * worker made, which binds the copies at their content-addressed paths, restores here.
   */
  public void publish(List<Path> classPath) throws IOException {
    sandbox.library().publish(classPath);
  }

  /** Starts a new workflow JVM. */
  public void start(WorkflowSpec spec) throws IOException {
    Path runDir = runDir(spec.id());
    WorkflowRun run = new WorkflowRun(spec.id(), runDir, State.RUNNING, 0);
    WorkflowRun previous = runs.putIfAbsent(spec.id(), run);
    if (previous != null && (previous.state != State.EXITED || !runs.replace(spec.id(), previous, run))) {
      throw new TorporException("workflow " + spec.id() + " is already on this worker");
    }
    clearStale(runDir);
    sandbox.prepareRunDir(runDir);
    synchronized (run) {
      run.control = control(run);
      List<Path> given = new ArrayList<>(agentJars);
      given.addAll(spec.classPath());
      List<Path> classPath = sandbox.library().publish(given);
      run.plan = sandbox.plan(runDir, spec.javaHome(), classPath);
      Path root = sandbox.roots().prepare(run.plan, run.rootToken);
      // org.crac delegates to the agent (libraries' Resources run at every checkpoint). The
      // workflow's own java options come after, so its -Dorg.crac.Core.Compat would win.
      List<String> command = new ArrayList<>();
      if (config.noAslr()) {
        command.addAll(NO_ASLR_PREFIX);
      }
      command.addAll(List.of(spec.javaHome().resolve("bin/java").toString(), "-XX:-UsePerfData",
          "-Djava.io.tmpdir=" + runDir.resolve("tmp"), dev.torpor.internal.crac.Core.SYSTEM_PROPERTY_OPTION));
      if (config.noAslr()) {
        command.addAll(NO_ASLR_JAVA_OPTIONS); // before the workflow's own options, which may override them
      }
      command.addAll(WorkflowJvmDefaults.forWorkflow(spec.javaOptions(), spec.env())); // small images
      command.addAll(spec.javaOptions());
      command.addAll(List.of("-cp", classPath.stream().map(Path::toString)
          .collect(Collectors.joining(File.pathSeparator)), spec.mainClass()));
      command.addAll(spec.args());
      // In a cluster the JVM dies with this worker: unshare gets SIGKILL when the worker goes, and
      // takes the namespace's init (the JVM) with it. stdout and stderr of the JVM share one pipe
      // (the shell's 2>&1); the launcher's own complaints go to a separate file, not the workflow's log.
      ProcessBuilder pb = new ProcessBuilder(sandbox.launchCommand(runDir, command))
          .directory(new File("/"))
          .redirectError(ProcessBuilder.Redirect.appendTo(
              launcherLog(spec.id()).toFile()));
      pb.environment().clear();
      pb.environment().putAll(WorkflowEnv.of(spec.id(), runDir, spec.env()));
      long t0 = System.nanoTime();
      Process p = spawn(pb::start);
      try {
        Sandbox.awaitUnshared(p, Duration.ofSeconds(10));
        run.rootPid = childOf(p, Duration.ofSeconds(10));
        sandbox.enter(p, run.plan, root);
      } catch (IOException | RuntimeException e) {
        p.destroyForcibly();
        run.control.close();
        sandbox.roots().discard(runDir, run.rootToken);
        runs.remove(spec.id(), run);
        throw e;
      }
      run.process = p;
      run.pump = new OutputPump(spec.id(), p.getInputStream(), logFile(spec.id()), config.tee());
      run.jdk = SystemFacts.jdk(spec.javaHome());
      watchExit(run, p);
      // sandboxMillis: from spawning unshare to the go (namespaces made, root built): the launch's price.
      emit(Type.STARTED, run, Map.of("pid", run.rootPid, "main", spec.mainClass(), "sandboxMillis", millisSince(t0)));
    }
  }

  /**
   * Takes charge of a workflow whose newest image is in the store (started or last held by
   * another worker), as frozen. A {@link #wake} then restores it here.
   */
  public long adopt(String workflowId) throws IOException {
    ImageManifest m = images.latest(workflowId)
        .orElseThrow(() -> new TorporException("workflow " + workflowId + " has no committed image in " + images.describe()));
    return adopt(m);
  }

  /**
   * Takes charge of image {@code seq} of a workflow, as frozen, unless this worker already
   * holds the workflow. The registry names the seq: a newer image in the store is the debris of
   * a segment that crashed before the registry heard of it, and is replaced when that segment
   * runs again.
   */
  public void adopt(String workflowId, long seq) throws IOException {
    WorkflowRun held = runs.get(workflowId);
    if (held != null) {
      synchronized (held) {
        // A frozen image this worker made earlier is stale once the workflow ran on elsewhere.
        boolean staleFrozen = held.state == State.SUSPENDED && held.seq != seq;
        if (held.state != State.EXITED && !staleFrozen) {
          return;
        }
      }
      runs.remove(workflowId, held);
    }
    ImageKey key = new ImageKey(workflowId, seq);
    ImageManifest m = images.manifest(key)
        .orElseThrow(() -> new TorporException("workflow " + workflowId + " has no image " + seq + " in " + images.describe()));
    adopt(m);
  }

  private long adopt(ImageManifest m) {
    Path runDir = Path.of(m.restore().get("runDir"));
    WorkflowRun run = new WorkflowRun(m.workflowId(), runDir, State.SUSPENDED, m.seq());
    run.wait = waitOf(m);
    run.jdk = m.jdk();
    if (runs.putIfAbsent(m.workflowId(), run) != null) {
      throw new TorporException("workflow " + m.workflowId() + " is already on this worker");
    }
    return m.seq();
  }

  /**
   * Kills every workflow JVM of this worker (it lost its lease) and waits, at most {@code timeout},
   * until they have exited (their exits are reported as usual), then forgets every workflow: what
   * it held is the cluster's to resume now.
   */
  public void killAll(Duration timeout) {
    List<CompletableFuture<Integer>> exits = new ArrayList<>();
    for (WorkflowRun run : runs.values()) {
      synchronized (run) {
        if (run.state == State.EXITED || run.state == State.SUSPENDED) {
          continue; // nothing of it runs here
        }
        run.killed = true;
        killProcess(run);
        exits.add(run.exit);
      }
    }
    try {
      CompletableFuture.allOf(exits.stream().map(f -> f.handle((code, e) -> 0)).toArray(CompletableFuture[]::new))
          .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException | TimeoutException e) {
      System.err.println("torpor worker: not every killed workflow JVM exited within " + timeout + ": " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    runs.clear();
    try {
      dropOutputSpool(); // what the killed segments printed goes with them: they run again elsewhere
    } catch (IOException e) {
      System.err.println("torpor worker: cannot empty the output spool: " + e);
    }
  }

  /** Deletes the workflows' output not yet shipped (a cluster worker's logs are spools, see ServerWorker). */
  private void dropOutputSpool() throws IOException {
    Path logs = config.dataDir().resolve("logs");
    if (Files.isDirectory(logs)) {
      try (var spool = Files.newDirectoryStream(logs, "*.log")) {
        for (Path f : spool) {
          Files.delete(f);
        }
      }
    }
  }

  /**
   * Kills the workflow's JVM if it runs here, and makes sure a restore in progress does not
   * bring it back. Its exit is reported as usual.
   */
  public void kill(String workflowId) {
    WorkflowRun run = runs.get(workflowId);
    if (run == null) {
      return;
    }
    synchronized (run) {
      run.killed = true;
      killProcess(run);
    }
  }

  private static void killProcess(WorkflowRun run) {
    if (run.process != null) { // the launcher's or the restore waiter's tree: CRIU and the root, or the JVM
      run.process.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
    }
    if (run.rootPid > 0) {
      ProcessHandle.of(run.rootPid).ifPresent(ProcessHandle::destroyForcibly);
    }
    if (run.process != null) {
      // Through its handle: Process.destroyForcibly also closes our end of its output pipe, and the
      // output pump would log "Stream closed" as a pipe failure instead of reading to the end.
      run.process.toHandle().destroyForcibly();
    }
  }

  /**
   * Wakes a workflow waiting on image {@code seq}: restores it (or, if it waits in memory,
   * just tells it) and delivers {@code delivery}. Asynchronous. A wake for another seq or a
   * workflow that is not waiting is ignored and reported false.
   */
  public boolean wake(String workflowId, long seq, Wakeup delivery) {
    WorkflowRun run = runs.get(workflowId);
    if (run == null) {
      return false;
    }
    synchronized (run) {
      if (run.seq != seq || (run.state != State.SUSPENDED && run.state != State.WAITING_IN_MEMORY)) {
        return false;
      }
      boolean restore = run.state == State.SUSPENDED;
      run.moveTo(State.WAKING);
      run.wakeStartedNanos = System.nanoTime();
      emit(Type.WAKING, run, Map.of("reason", delivery.reason().name(), "restore", restore));
      tasks.execute(() -> {
        if (restore) {
          restore(run, delivery);
        } else {
          deliverInMemory(run, delivery);
        }
      });
      return true;
    }
  }

  /** The exit status of a workflow on this worker, once it has exited. */
  public int awaitExit(String workflowId, Duration timeout) throws TimeoutException, InterruptedException {
    WorkflowRun run = runs.get(workflowId);
    if (run == null) {
      throw new TorporException("workflow " + workflowId + " is not on this worker");
    }
    try {
      return run.exit.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw new TorporException("workflow " + workflowId + " failed on this worker: " + e.getCause().getMessage(), e.getCause());
    }
  }

  /** Completes with the workflow's exit status when it exits on this worker. */
  public CompletableFuture<Integer> exitFuture(String workflowId) {
    WorkflowRun run = runs.get(workflowId);
    if (run == null) {
      throw new TorporException("workflow " + workflowId + " is not on this worker");
    }
    return run.exit;
  }

  /** The seq of the workflow's newest image on this worker (0 before the first). */
  public long seqOf(String workflowId) {
    WorkflowRun run = runs.get(workflowId);
    if (run == null) {
      return 0;
    }
    synchronized (run) {
      return run.seq;
    }
  }

  /** Why the workflow's last wake failed on this worker, if it did. */
  public String lastError(String workflowId) {
    WorkflowRun run = runs.get(workflowId);
    if (run == null) {
      return "unknown";
    }
    synchronized (run) {
      return String.valueOf(run.lastError);
    }
  }

  /** Forgets a workflow that has exited, so that a long-lived worker does not accumulate them. */
  public void forget(String workflowId) {
    runs.computeIfPresent(workflowId, (id, run) -> run.state == State.EXITED ? null : run);
  }

  /** Whether the workflow waits in the memory of its live JVM on this worker (its checkpoint failed). */
  public boolean waitsInMemory(String workflowId) {
    WorkflowRun run = runs.get(workflowId);
    if (run == null) {
      return false;
    }
    synchronized (run) {
      return run.state == State.WAITING_IN_MEMORY;
    }
  }

  /** Whether the workflow has a live process on this worker. */
  public boolean isAlive(String workflowId) {
    WorkflowRun run = runs.get(workflowId);
    if (run == null) {
      return false;
    }
    synchronized (run) {
      return run.process != null && run.process.isAlive();
    }
  }

  // ----- suspend -----

  private ControlServer control(WorkflowRun run) throws IOException {
    ControlServer server = new ControlServer(run.runDir.resolve(SupervisedRuntime.CONTROL_SOCKET), f -> onFrame(run, f),
        msg -> System.err.println("torpor worker: workflow " + run.id + ": " + msg));
    sandbox.handOver(server.socket()); // the workflow's agent connects as the workflow user
    return server;
  }

  private void onFrame(WorkflowRun run, Frame frame) {
    switch (frame.type()) {
      case SUSPEND -> {
        Suspend s = Suspend.from(frame);
        if (!s.workflowId().equals(run.id)) {
          throw new ProtocolException(
              "SUSPEND names workflow " + s.workflowId() + " on the socket of " + run.id);
        }
        synchronized (run) {
          if (run.state != State.RUNNING) {
            throw new ProtocolException(
                "SUSPEND while the workflow is " + run.state + ", not RUNNING");
          }
          run.moveTo(State.SUSPENDING);
          run.wait = s;
        }
        tasks.execute(() -> suspend(run, s));
      }
      case RESUMED -> onResumed(run, Resumed.from(frame));
      default -> throw new ProtocolException("a worker does not accept " + frame.type());
    }
  }

  private void suspend(WorkflowRun run, Suspend s) {
    long t0 = System.nanoTime();
    Map<String, Double> timings = new LinkedHashMap<>();
    try {
      if (!run.pump.awaitMarker(s.marker(), config.syncTimeout())) {
        System.err.println("torpor worker: workflow " + run.id + ": its output marker did not arrive in "
            + config.syncTimeout() + "; dumping anyway (output in flight may appear twice)");
      }
      timings.put("sync", millisSince(t0));
      if (!s.savepoint() && s.dumpRefused().isEmpty()) {
        Optional<Wakeup> due = callbacks.dueNow(run.id, seqOf(run.id), s.waits());
        if (due.isPresent()) {
          CrashPoint.reach(CrashPoint.DUE_NOW_CLAIMED);
          synchronized (run) {
            run.moveTo(State.WAKING);
            run.wakeStartedNanos = System.nanoTime();
          }
          deliverInMemory(run, due.get());
          return;
        }
      }
      if (s.dumpRefused().isPresent()) {
        waitInMemory(run, s, s.dumpRefused().get());
        return;
      }
      if (dueWithinMinimum(s)) {
        holdShortWait(run, s);
        return;
      }
      long seq = run.seq + 1;
      boolean leaveRunning = s.savepoint();
      Path dumpDir = scratch.dumps().resolve(run.id).resolve(Long.toString(seq));
      ImagePacker.deleteTree(dumpDir);
      long root;
      synchronized (run) {
        // The tree's root is the only child of the launcher (unshare), known from the launch, or
        // the restore waiter's child that remains once CRIU has exited, looked up once after a restore.
        if (run.rootPid <= 0) {
          run.rootPid = engine.restoredRoot(run.process, Duration.ofSeconds(5));
        }
        root = run.rootPid;
      }
      String pipe = Files.readSymbolicLink(Path.of("/proc", Long.toString(root), "fd", "1")).toString();
      boolean noRandomize = addrNoRandomize(root);
      long t1 = System.nanoTime();
      try {
        engine.dump(root, dumpDir, leaveRunning, run.plan.dumpOptions());
      } catch (DumpFailedException e) {
        ImagePacker.deleteTree(dumpDir);
        Process died;
        synchronized (run) {
          died = run.exitedWhileSuspending;
          run.exitedWhileSuspending = null;
          if (died != null) {
            run.moveTo(State.RUNNING);
          }
        }
        if (died != null) {
          finishExit(run, died);
        } else {
          waitInMemory(run, s, e.getMessage());
        }
        return;
      }
      timings.put("dump", millisSince(t1));
      CrashPoint.reach(CrashPoint.DUMPED);
      if (!leaveRunning) {
        synchronized (run) {
          run.process = null; // the dump killed it; its exit is not the workflow's
          run.exitedWhileSuspending = null;
        }
      }
      if (!callbacks.owns(run.id)) {
        System.err.println("torpor worker: image " + (seq) + " of " + run.id + " not committed: this worker no"
            + " longer holds the workflow's lease");
        abandonUncommitted(run, dumpDir, leaveRunning);
        return;
      }
      ImageManifest manifest;
      long t2 = System.nanoTime();
      try {
        manifest = images.commit(new ImageIo.Facts(new ImageKey(run.id, seq), s, run.jdk, pipe, run.plan, noRandomize),
            dumpDir, timings, t2, () -> callbacks.owns(run.id));
      } catch (ImageIo.ImageTakenException e) {
        System.err.println("torpor worker: " + e.getMessage());
        abandonUncommitted(run, dumpDir, leaveRunning);
        return;
      } catch (IOException | RuntimeException e) {
        recoverUncommitted(run, s, dumpDir, pipe, noRandomize, leaveRunning, e);
        return;
      }
      CrashPoint.reach(CrashPoint.IMAGE_COMMITTED);
      boolean cached = keepOrDelete(manifest, dumpDir);
      if (!leaveRunning && !cached) {
        // A frozen workflow holds nothing on the worker but its run directory: its root (some
        // 30 empty mount points, ~50 kB of directories) is built again at its restore, while
        // the image is fetched. One whose image is cached here keeps its root as long (see evicted).
        sandbox.roots().discard(run.runDir, run.rootToken);
      }
      if (!leaveRunning && !run.pump.awaitEnd(Duration.ofSeconds(30))) {
        System.err.println("torpor worker: workflow " + run.id + ": output pipe still open 30 s after the dump");
      }
      double total = millisSince(t0);
      Map<String, Object> details = new LinkedHashMap<>();
      details.put("wait", s.kind().name());
      s.wakeAt().ifPresent(w -> details.put("wakeAt", w.toString()));
      s.signal().ifPresent(n -> details.put("signal", n));
      details.put("waits", s.waits().size());
      if (s.gatherMicros() > 0) {
        details.put("gatherMillis", s.gatherMicros() / 1000.0);
      }
      if (!s.trigger().isEmpty()) {
        details.put("trigger", s.trigger());
      }
      details.put("rawBytes", manifest.rawBytes());
      details.put("packedBytes", manifest.packedBytes());
      details.put("suspendMillis", total);
      details.put("timings", manifest.timingsMillis());
      details.put("stack", s.stack());
      synchronized (run) {
        run.seq = seq;
        run.checkpointFailure = null;
        run.moveTo(leaveRunning ? State.WAKING : State.SUSPENDED);
        if (!leaveRunning && run.control != null) {
          // Nothing talks to a frozen workflow: its socket (and accept thread) come back with it.
          run.control.close();
          run.control = null;
          run.pump = null;
        }
        emit(leaveRunning ? Type.CHECKPOINTED : Type.SUSPENDED, run, details);
      }
      if (leaveRunning) {
        run.wakeStartedNanos = System.nanoTime();
        deliverInMemory(run, Wakeup.of(WakeReason.CHECKPOINT));
      } else {
        callbacks.waiting(run.id, seq, s.waits(), false, details);
      }
    } catch (IOException | RuntimeException e) {
      System.err.println("torpor worker: workflow " + run.id + ": suspend failed: " + e);
      waitInMemory(run, s, "suspend failed: " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * An image the cache evicted for want of room: its workflow, if still frozen on it, gives up the
   * root it kept for a quick wake (a wake builds it again while it fetches). Under the run's lock, a
   * wake has either not begun (the root goes) or has (it stays: the restore uses it).
   */
  private void evicted(ImageKey key) {
    WorkflowRun run = runs.get(key.workflowId());
    if (run == null) {
      return;
    }
    synchronized (run) {
      if (run.state == State.SUSPENDED && run.seq == key.seq()) {
        sandbox.roots().discard(run.runDir, run.rootToken);
      }
    }
  }

  /** Keeps a committed image's dump in the hot cache for a wake here, or deletes it: it is in the store. Returns whether kept. */
  private boolean keepOrDelete(ImageManifest manifest, Path dumpDir) throws IOException {
    boolean kept = false;
    try {
      kept = cache.keep(manifest.key(), manifest.sha256(), dumpDir);
    } catch (IOException e) {
      System.err.println("torpor worker: image " + manifest.key() + " not cached (" + e + "); its wake fetches it");
    }
    if (!kept) {
      ImagePacker.deleteTree(dumpDir);
    }
    return kept;
  }

  /** Its lease went to another worker, which resumes it from its last image: the dump is dropped, the JVM ends here. */
  private void abandonUncommitted(WorkflowRun run, Path dumpDir, boolean leaveRunning) throws IOException {
    ImagePacker.deleteTree(dumpDir);
    if (leaveRunning) {
      synchronized (run) {
        run.moveTo(State.RUNNING); // its exit, once killed, is reported as any other
      }
      kill(run.id);
    } else {
      synchronized (run) {
        run.moveTo(State.EXITED); // the dump ended the process
        if (run.control != null) {
          run.control.close();
          run.control = null;
        }
        emit(Type.EXITED, run, Map.of("exitCode", 137));
      }
      run.exit.complete(137);
    }
  }

  /**
   * The image could not be committed. If the dump killed the process, the dump directory is
   * the only copy of the workflow: restore it from there and keep the wait in memory.
   */
  private void recoverUncommitted(WorkflowRun run, Suspend s, Path dumpDir, String pipe, boolean noRandomize,
      boolean leaveRunning, Exception e) {
    String why = "image commit to " + images.describe() + " failed"
        + (e instanceof IOException ? " for " + images.commitRetry().toSeconds() + " s" : "") + ": " + e.getMessage();
    if (leaveRunning) {
      try {
        ImagePacker.deleteTree(dumpDir);
      } catch (IOException cleanup) {
        e.addSuppressed(cleanup);
      }
      waitInMemory(run, s, why);
      return;
    }
    try {
      run.pump.awaitEnd(Duration.ofSeconds(30));
      relaunchFromDump(run, dumpDir, pipe, noRandomize, readySandbox(run, run.plan));
      // Said to wait in memory only once it does: CRIU has finished and the JVM is back.
      long root = engine.restoredRoot(run.process, Duration.ofSeconds(30));
      synchronized (run) {
        run.rootPid = root;
      }
      watchExit(run, run.process);
      waitInMemory(run, s, why);
    } catch (IOException | InterruptedException | RuntimeException restoreFailure) {
      e.addSuppressed(restoreFailure);
      synchronized (run) {
        if (run.process != null) {
          killProcess(run); // a restore that never finished: the waiter, CRIU and whatever it restored
        }
        run.moveTo(State.EXITED);
        emit(Type.CHECKPOINT_FAILED, run, Map.of("error", why, "fatal",
            "restoring from the local dump failed too; the dump is kept at " + dumpDir + ": " + restoreFailure));
        run.exit.completeExceptionally(e);
      }
    }
  }

  /** Whether a wait ends (its timer or deadline) sooner than {@code --min-checkpoint-wait}: then it is not worth a checkpoint. */
  private boolean dueWithinMinimum(Suspend s) {
    return !s.savepoint() && !config.minCheckpointWait().isZero() && s.wakeAt().isPresent()
        && s.wakeAt().get().isBefore(Instant.now().plus(config.minCheckpointWait()));
  }

  /**
   * Holds a short wait in memory by choice: recorded as a wait in memory (its reason in the
   * details), with no checkpoint failure for the agent to warn of. As for any running segment, a
   * crash of the worker meanwhile resumes the workflow from its last image.
   */
  private void holdShortWait(WorkflowRun run, Suspend s) {
    String why = "due within --min-checkpoint-wait " + config.minCheckpointWait() + ": held in memory, not checkpointed";
    synchronized (run) {
      run.checkpointFailure = null;
      run.moveTo(State.WAITING_IN_MEMORY);
      emit(Type.WAITING_IN_MEMORY, run, Map.of("heldInMemory", why, "wait", s.kind().name()));
    }
    callbacks.waiting(run.id, run.seq, s.waits(), true, Map.of("heldInMemory", why, "stack", s.stack()));
  }

  private void waitInMemory(WorkflowRun run, Suspend s, String why) {
    synchronized (run) {
      run.checkpointFailure = why;
      if (s.savepoint()) {
        run.moveTo(State.WAKING);
        run.wakeStartedNanos = System.nanoTime();
      } else {
        run.moveTo(State.WAITING_IN_MEMORY);
      }
      emit(Type.CHECKPOINT_FAILED, run, Map.of("error", why, "wait", s.kind().name()));
    }
    if (s.savepoint()) {
      deliverInMemory(run, Wakeup.of(WakeReason.CHECKPOINT));
    } else {
      callbacks.waiting(run.id, run.seq, s.waits(), true, Map.of("error", why, "stack", s.stack()));
    }
  }

  // ----- wake -----

  private void restore(WorkflowRun run, Wakeup delivery) {
    ImageKey key = new ImageKey(run.id, run.seq);
    Map<String, Double> details = new LinkedHashMap<>();
    try {
      ImageManifest m = images.manifest(key).orElseThrow(() -> new IOException("no manifest for " + key));
      long t0 = System.nanoTime();
      SandboxPlan plan = sandbox.planOf(m.restore(), WorkflowSpec.currentJavaHome());
      synchronized (run) {
        run.plan = plan;
      }
      // The run directory and the root need only the manifest: made ready while the image is fetched.
      Future<Path> root = tasks.submit(() -> readySandbox(run, plan));
      Path dir = scratch.restores().resolve(run.id).resolve(Long.toString(run.seq));
      try {
        if (cached(key, m, dir)) {
          details.put("fromCache", millisSince(t0));
        } else {
          sandbox.prepareImageDir(dir);
          images.fetch(m, dir);
          details.put("fetchVerifyUnpack", millisSince(t0));
        }
      } catch (IOException | RuntimeException e) {
        deleteQuietly(dir);
        awaitQuietly(root);
        sandbox.roots().discard(run.runDir, run.rootToken);
        throw e;
      }
      long t1 = System.nanoTime();
      Path ready = join(root, "making the sandbox ready");
      details.put("sandbox", millisSince(t1));
      relaunchFromDump(run, dir, m.restore().get("outputPipe"),
          "true".equals(m.restore().get(ImageIo.ADDR_NO_RANDOMIZE_FACT)), ready);
      synchronized (run) {
        run.restoreDir = dir;
        run.wakeTimings = details;
      }
      CrashPoint.reach(CrashPoint.RESTORED);
      sendWake(run, delivery, true); // connects once CRIU has restored the wake socket
      CrashPoint.reach(CrashPoint.WAKE_DELIVERED);
      watchExit(run, run.process);
      synchronized (run) {
        if (run.killed) {
          killProcess(run);
        }
      }
      details.put("restoreDeliver", millisSince(t1));
    } catch (IOException | RuntimeException | Error e) {
      // An Error too (an OutOfMemoryError while fetching): the wake fails and its slot is released,
      // instead of the workflow staying RUNNING with nothing behind it until the worker restarts.
      if (e instanceof Error) {
        System.err.println("torpor worker: restoring " + run.id + " failed: " + e);
      }
      synchronized (run) {
        if (run.process != null) {
          killProcess(run); // the waiter, CRIU and whatever it restored
          run.process = null;
        }
        run.moveTo(State.SUSPENDED);
        run.lastError = e instanceof Error ? e.toString() : String.valueOf(e.getMessage());
        emit(Type.RESTORE_FAILED, run, Map.of("error", run.lastError));
      }
      if (e instanceof ImageDeclinedException) {
        callbacks.declined(run.id, run.seq, delivery, lastError(run.id));
      } else {
        callbacks.undeliverable(run.id, run.seq, delivery, lastError(run.id));
      }
    }
  }

  /**
   * Moves the hot cache's copy of image {@code key} to {@code dir}, opened to the restore, if this
   * worker committed it and the trusted manifest {@code m} names the same packed image.
   */
  private boolean cached(ImageKey key, ImageManifest m, Path dir) throws IOException {
    ImagePacker.deleteTree(dir);
    Files.createDirectories(dir.getParent());
    if (cache.take(key, m.sha256(), dir).isEmpty()) {
      return false;
    }
    sandbox.makeRestorable(dir);
    return true;
  }

  /** Makes a workflow's run directory and root ready for a restore under {@code plan}; returns the root. */
  private Path readySandbox(WorkflowRun run, SandboxPlan plan) throws IOException {
    clearStale(run.runDir);
    sandbox.prepareRunDir(run.runDir);
    return sandbox.roots().prepare(plan, run.rootToken);
  }

  private static void awaitQuietly(Future<Path> root) {
    try {
      join(root, "making the sandbox ready");
    } catch (IOException | RuntimeException ignored) {
      // the restore fails for another reason, which is the one reported
    }
  }

  /** Restores the tree dumped in {@code dir} as this run's process into {@code root}, with a fresh output pipe. */
  private void relaunchFromDump(WorkflowRun run, Path dir, String outputPipe, boolean addrNoRandomize, Path root)
      throws IOException {
    if (dir.startsWith(scratch.dumps())) {
      sandbox.makeRestorable(dir); // a local dump (its commit failed): CRIU wrote it 0600
    }
    Path err = dir.resolveSibling(dir.getFileName() + ".criu.err");
    Process p = spawn(() -> engine.restore(dir, outputPipe, err, run.plan.restoreOptions(root), addrNoRandomize));
    synchronized (run) {
      if (run.control == null) {
        run.control = control(run);
      }
      run.process = p;
      run.rootPid = 0; // the restored root is the waiter's child, CRIU's sibling: looked up when needed
      run.pump = new OutputPump(run.id, p.getInputStream(), logFile(run.id), config.tee());
    }
  }

  private void deliverInMemory(WorkflowRun run, Wakeup delivery) {
    try {
      sendWake(run, delivery, false);
    } catch (IOException e) {
      synchronized (run) {
        run.lastError = "wake delivery failed: " + e.getMessage();
        emit(Type.RESTORE_FAILED, run, Map.of("error", run.lastError));
        run.moveTo(State.WAITING_IN_MEMORY);
      }
      callbacks.undeliverable(run.id, run.seq, delivery, lastError(run.id));
    }
  }

  /** How often a wake looks for the restored JVM's wake socket: costs about 0.25 ms of a resume, on average. */
  private static final long WAKE_POLL_NANOS = 500_000;
  /** How long a resumed JVM's restore directory is kept for CRIU, which writes its stats there last. */
  private static final java.time.Duration RESTORE_STATS_WAIT = java.time.Duration.ofSeconds(5);

  private void sendWake(WorkflowRun run, Wakeup d, boolean restored) throws IOException {
    Wake wake;
    synchronized (run) {
      wake = new Wake(d.reason(), run.seq, restored, Optional.ofNullable(run.checkpointFailure),
          run.control.socket().toString(), d.signals(), d.asOf().orElseGet(Instant::now));
      run.moveTo(State.RUNNING);
      run.checkpointFailure = null;
    }
    Path socket = run.runDir.resolve(SupervisedRuntime.WAKE_SOCKET);
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (true) {
      try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
        ch.connect(UnixDomainSocketAddress.of(socket));
        sandbox.checkPeer(ch, socket);
        FrameCodec.write(Channels.newOutputStream(ch), wake.toFrame());
        return;
      } catch (SecurityException e) {
        throw new IOException(e.getMessage(), e);
      } catch (IOException e) {
        Process p;
        synchronized (run) {
          p = run.process;
        }
        if (p == null || !p.isAlive() || System.nanoTime() > deadline) {
          String why = restored && run.restoreDir != null ? "; restore log: " + engine.restoreLogTail(run.restoreDir) : "";
          throw new IOException("cannot deliver the wake to " + socket + ": " + e.getMessage() + why, e);
        }
        // Not a spin: with every slot restoring at once, spinning threads took the CPU from the restores.
        LockSupport.parkNanos(WAKE_POLL_NANOS);
      }
    }
  }

  private void onResumed(WorkflowRun run, Resumed r) {
    Path dir;
    synchronized (run) {
      dir = run.restoreDir;
      run.restoreDir = null;
      Map<String, Object> details = new LinkedHashMap<>();
      details.put("resumeMillis", millisSince(run.wakeStartedNanos));
      details.put("afterRestoreHooksMillis", r.afterRestoreNanos() / 1e6);
      if (run.wakeTimings != null) {
        Map<String, Double> timings = new LinkedHashMap<>(run.wakeTimings);
        if (dir != null) {
          timings.putAll(CriuStats.restoreTimings(dir)); // CRIU's own split of restoreDeliver and after
        }
        details.put("timings", timings);
      }
      run.wakeTimings = null;
      emit(Type.RESUMED, run, details);
    }
    if (dir != null) {
      tasks.execute(() -> {
        try {
          CriuStats.awaitRestoreStats(dir, RESTORE_STATS_WAIT); // CRIU may still be writing into dir
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return; // the worker is closing: its scratch directory goes with it
        }
        deleteQuietly(dir);
      });
    }
  }

  // ----- exit -----

  private void watchExit(WorkflowRun run, Process p) {
    p.onExit().thenRunAsync(() -> {
      synchronized (run) {
        if (run.process != p) {
          return; // killed by a dump: the workflow lives on in its image
        }
        if (run.state == State.SUSPENDING) {
          run.exitedWhileSuspending = p; // the dump may have killed it: suspend() decides
          return;
        }
      }
      finishExit(run, p);
    }, tasks);
  }

  private void finishExit(WorkflowRun run, Process p) {
    try {
      run.pump.awaitEnd(Duration.ofSeconds(10));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    int code = p.exitValue();
    synchronized (run) {
      run.moveTo(State.EXITED);
      run.process = null;
      emit(Type.EXITED, run, Map.of("exitCode", code));
      if (run.control != null) {
        run.control.close();
      }
      if (run.restoreDir != null) {
        deleteQuietly(run.restoreDir);
      }
    }
    sandbox.roots().discard(run.runDir, run.rootToken);
    cache.drop(run.id);
    images.forget(run.id);
    run.exit.complete(code);
  }

  // ----- helpers -----

  private interface Spawn {
    Process start() throws IOException;
  }

  /** Starts a process on the spawner thread (see {@link #spawner}). */
  private Process spawn(Spawn s) throws IOException {
    return join(spawner.submit(s::start), "starting a workflow process");
  }

  /**
   * The result of work handed to another thread: its IOException as thrown there, anything else
   * it threw as a TorporException saying what it was {@code doing}.
   */
  private static <T> T join(Future<T> work, String doing) throws IOException {
    try {
      return work.get();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof IOException io) {
        throw io;
      }
      throw new TorporException(doing + " failed: " + e.getCause(), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while " + doing, e);
    }
  }

  /**
   * In a cluster, kills a JVM left in the run directory by a worker of this machine that lost the
   * workflow's lease while it still ran (one live copy at a time).
   */
  private void clearStale(Path runDir) throws IOException {
    if (config.cluster()) {
      List<Long> killed = ProcessScan.killWithCwd(runDir);
      if (!killed.isEmpty()) {
        System.err.println("torpor worker: killed stale workflow JVM(s) " + killed + " in " + runDir
            + " (their worker lost the lease)");
      }
    }
  }

  /** Whether process {@code pid} runs with the ADDR_NO_RANDOMIZE personality (0x0040000). */
  private static boolean addrNoRandomize(long pid) throws IOException {
    String hex = Files.readString(Path.of("/proc", Long.toString(pid), "personality")).strip();
    return (Long.parseLong(hex, 16) & 0x0040000) != 0;
  }

  private static long childOf(Process p, Duration timeout) throws IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      Optional<ProcessHandle> child = p.toHandle().children().findFirst();
      if (child.isPresent()) {
        return child.get().pid();
      }
      if (!p.isAlive()) {
        throw new IOException("process " + p.pid() + " exited with " + p.exitValue() + " before starting its child");
      }
      Thread.onSpinWait();
    }
    throw new IOException("process " + p.pid() + " started no child within " + timeout);
  }

  private static Suspend waitOf(ImageManifest m) {
    Map<String, String> w = m.waitFor();
    return new Suspend(m.workflowId(), WaitKind.valueOf(w.get("kind")),
        Optional.ofNullable(w.get("wakeAt")).map(Instant::parse), Optional.ofNullable(w.get("signal")), "", "",
        Optional.empty());
  }

  /** The wait of a workflow this worker holds, if it waits. */
  public Optional<Suspend> waitOf(String workflowId) {
    WorkflowRun run = runs.get(workflowId);
    if (run == null) {
      return Optional.empty();
    }
    synchronized (run) {
      return run.state == State.SUSPENDED || run.state == State.WAITING_IN_MEMORY ? Optional.ofNullable(run.wait) : Optional.empty();
    }
  }

  private void emit(Type type, WorkflowRun run, Map<String, Object> details) {
    try {
      events.accept(WorkflowEvent.of(type, run.id, run.seq, details));
    } catch (RuntimeException e) {
      System.err.println("torpor worker: an event listener failed on " + type + " of " + run.id + ": " + e);
    }
  }

  private static double millisSince(long t0) {
    return Math.round((System.nanoTime() - t0) / 10_000.0) / 100.0;
  }

  private static void deleteQuietly(Path dir) {
    try {
      ImagePacker.deleteTree(dir);
    } catch (IOException e) {
      System.err.println("torpor worker: cannot delete " + dir + ": " + e);
    }
  }

  @Override
  public void close() {
    for (WorkflowRun run : runs.values()) {
      synchronized (run) {
        if (run.control != null) {
          run.control.close();
        }
      }
    }
    tasks.shutdownNow();
    spawner.shutdownNow();
    scratch.close();
  }
}
