package dev.torpor.testing;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import dev.torpor.internal.SupervisedRuntime;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * Runs workflows in a test, with virtual time: a wait of thirty days returns as soon as the test
 * says thirty days have passed, which takes milliseconds.
 *
 * <p>Each workflow's {@code main} runs in a JVM of its own, on the test's class path, with the
 * same agent and the same wait logic as under a worker: its waits are gathered into wait sets,
 * signals are matched to waits as a worker matches them, {@code beforeCheckpoint} and {@code
 * afterRestore} hooks run around every wait, {@code System.exit} sets the exit code. What differs
 * is the worker: this environment plays it. It keeps the JVM running instead of checkpointing it,
 * and it wakes the waits on its own clock, which stands still until the test moves it:
 *
 * <pre>{@code
 * @ExtendWith(TorporExtension.class)
 * class ProTrialTest {
 *   @Test
 *   void aTrialWithoutUpgradeIsRevoked(TorporTestEnvironment env) {
 *     TestWorkflow trial = env.start(ProTrial.class, "alice");
 *     env.advance(Duration.ofDays(30));          // the trial's wait returns
 *     assertThat(trial.output()).contains("trial is over");
 *     assertThat(trial.awaitExit()).isZero();    // skips the 3-day grace period too
 *     assertThat(trial.output()).contains("revoked pro from alice");
 *   }
 * }
 * }</pre>
 *
 * <p>The clock: {@link #now()} starts at the wall clock and runs with it; {@link #advance} and
 * {@link TestWorkflow#awaitExit()} add the time they skip. A workflow that reads the time should
 * read {@code Durable.now()}, which follows this clock in a test and is the wall clock elsewhere;
 * {@code Instant.now()} and {@code System.currentTimeMillis()} keep showing the wall clock.
 *
 * <p>Not a sandbox: workflow JVMs run as the user that runs the tests, with the test process's
 * environment. Nothing is checkpointed, so what a checkpoint would break (an open TCP connection
 * left open across a wait, say) is not found here: test that with a real worker.
 *
 * <p>Thread-safe. {@link #close()} kills every workflow JVM still running and deletes the
 * environment's directory.
 */
public final class TorporTestEnvironment implements AutoCloseable {
  /** Real time a workflow gets to reach its next wait or its end before a call gives up: 30 s unless set. */
  public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(30);

  /** Options that make a small JVM start fast; the builder's own options come after them and win. */
  static final List<String> DEFAULT_JAVA_OPTIONS = List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");

  private final Path dir;
  private final List<Path> classPath;
  private final List<String> javaOptions;
  private final Map<String, String> env;
  private final Duration idleTimeout;
  private final Path javaBin;
  /** With real checkpoints, the {@code torpor} CLI jar; null with virtual waits. */
  private final Path torporJar;
  private Path realRunBase;
  /** Guards the clock and every workflow's state; workflows wait and notify on it. */
  final Object lock = new Object();
  private final Map<String, TestWorkflow> workflows = new LinkedHashMap<>();
  private final AtomicInteger started = new AtomicInteger();
  /** How far the virtual clock is ahead of the wall clock, in ms. */
  private long leadMillis;
  private boolean closed;

  private TorporTestEnvironment(Builder b) {
    this.classPath = List.copyOf(b.classPath);
    this.javaOptions = List.copyOf(b.javaOptions);
    this.env = Map.copyOf(b.env);
    this.idleTimeout = b.idleTimeout;
    this.torporJar = b.torporJar;
    this.javaBin = Path.of(System.getProperty("java.home"), "bin", "java");
    try {
      this.dir = Files.createTempDirectory("torpor-test-"); // rwx------: the control sockets live here
    } catch (IOException e) {
      throw new UncheckedIOException("cannot make the test environment's directory: " + e.getMessage(), e);
    }
  }

  /** An environment with virtual time and the defaults: the test's own class path, no extra options. */
  public static TorporTestEnvironment create() {
    return builder().build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The virtual clock: the wall clock plus all the time skipped so far. */
  public Instant now() {
    synchronized (lock) {
      return Instant.now().plusMillis(leadMillis);
    }
  }

  /** Starts {@code mainClass}'s {@code main} with {@code args}, under an id of its own ({@code wf-1}, {@code wf-2}, ...). */
  public TestWorkflow start(Class<?> mainClass, String... args) {
    synchronized (lock) { // the next number and the start under it, together: two threads get two ids
      return start("wf-" + (started.get() + 1), mainClass.getName(), args);
    }
  }

  /**
   * Starts the class named {@code mainClass} (on this environment's class path) as workflow
   * {@code id}, which {@code Durable.workflowId()} returns inside it.
   *
   * @throws IllegalArgumentException if the id is not 1 to 64 letters, digits, {@code . _ -}, or
   *     is taken in this environment
   */
  public TestWorkflow start(String id, String mainClass, String... args) {
    Objects.requireNonNull(mainClass, "mainClass");
    if (id == null || !id.matches("[A-Za-z0-9._-]{1,64}")) {
      throw new IllegalArgumentException("a workflow id is 1 to 64 letters, digits, '.', '_' or '-', not '" + id + "'");
    }
    synchronized (lock) {
      if (closed) {
        throw new IllegalStateException("this test environment is closed");
      }
      if (workflows.containsKey(id)) {
        throw new IllegalArgumentException("workflow " + id + " was already started in this environment");
      }
      started.incrementAndGet();
      String clock = "-D" + SupervisedRuntime.VIRTUAL_CLOCK_PROPERTY + "=" + leadMillis;
      String cp = String.join(File.pathSeparator, classPath.stream().map(Path::toString).toList());
      List<String> command = new ArrayList<>();
      command.add(javaBin.toString());
      try {
        Path runDir = Files.createDirectory(dir.resolve(id));
        Path torporLog = null;
        if (torporJar == null) {
          command.addAll(DEFAULT_JAVA_OPTIONS);
          // As a worker does: org.crac's global context is the agent's, so libraries' resources run around waits.
          command.add(dev.torpor.internal.crac.Core.SYSTEM_PROPERTY_OPTION);
          command.add(clock);
          command.addAll(javaOptions);
          command.addAll(List.of("-cp", cp, mainClass));
        } else {
          // A real worker in `torpor run`, which hands every wait to this environment and restores the image when told.
          torporLog = runDir.resolve("torpor-run.log");
          command.add("-jar");
          command.add(torporJar.toString());
          command.add("run");
          env.forEach((k, v) -> command.add("--env=" + k + "=" + v)); // a worker gives workflows only these
          command.addAll(List.of("--data", runDir.resolve("data").toString(),
              "--run-dir", realRunBase().toString(), "--test-control", runDir.toString(), "--id", id, "--cp", cp,
              "--main", mainClass, "--java-opts", String.join(" ", concat(List.of(clock), javaOptions)), "--"));
        }
        command.addAll(Arrays.asList(args));
        TestWorkflow w = new TestWorkflow(this, id, runDir, command, env, torporLog);
        workflows.put(id, w);
        return w;
      } catch (IOException e) {
        throw new UncheckedIOException("cannot start workflow " + id + ": " + e.getMessage(), e);
      }
    }
  }

  /**
   * The run base of a real worker: short (sockets live under it) and crossable, not listable, by
   * the unprivileged user workflow JVMs run as (the caller holds the lock).
   */
  private Path realRunBase() throws IOException {
    if (realRunBase == null) {
      realRunBase = Files.createTempDirectory(Path.of("/tmp"), "trt");
      Files.setPosixFilePermissions(realRunBase, java.nio.file.attribute.PosixFilePermissions.fromString("rwx--x--x"));
    }
    return realRunBase;
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> out = new ArrayList<>(a);
    out.addAll(b);
    return out;
  }

  /** Whether this environment checkpoints and restores for real ({@link Builder#realCheckpoints}). */
  public boolean realCheckpoints() {
    return torporJar != null;
  }

  /** The workflow started under {@code id}, if any. */
  public Optional<TestWorkflow> workflow(String id) {
    synchronized (lock) {
      return Optional.ofNullable(workflows.get(id));
    }
  }

  /**
   * Moves the clock forward by {@code duration}, waking every wait that falls due on the way, in
   * the order they fall due, as a worker would have: after each wake the workflows run (in real
   * time) until each waits again or ends, and only then does the clock move on. Returns once the
   * clock has moved and every workflow waits or has ended.
   *
   * @throws IllegalArgumentException if {@code duration} is negative
   * @throws IllegalStateException if a workflow neither waits nor ends within the idle timeout
   */
  public void advance(Duration duration) {
    Objects.requireNonNull(duration, "duration");
    if (duration.isNegative()) {
      throw new IllegalArgumentException("the clock only moves forward: " + duration);
    }
    advanceTo(now().plus(duration));
  }

  /** {@link #advance} to the instant {@code target} (nothing happens if it is not ahead). */
  public void advanceTo(Instant target) {
    Objects.requireNonNull(target, "target");
    while (true) {
      awaitAllIdle();
      synchronized (lock) {
        Optional<Instant> next = all().stream().flatMap(w -> w.nextDeadline().stream()).min(Comparator.naturalOrder());
        if (next.isEmpty() || next.get().isAfter(target)) {
          skipTo(target);
          return;
        }
        // A millisecond past it: deadlines travel in whole milliseconds, the workflow's own are finer.
        skipTo(next.get().plusMillis(1));
        for (TestWorkflow w : all()) {
          w.deliverDue();
        }
      }
    }
  }

  /** Moves the clock to {@code t} if it is ahead (the caller holds the lock). */
  void skipTo(Instant t) {
    long ahead = t.toEpochMilli() - Instant.now().plusMillis(leadMillis).toEpochMilli();
    if (ahead > 0) {
      leadMillis += ahead;
    }
  }

  long leadMillis() {
    return leadMillis;
  }

  Duration idleTimeout() {
    return idleTimeout;
  }

  private List<TestWorkflow> all() {
    return List.copyOf(workflows.values());
  }

  private void awaitAllIdle() {
    List<TestWorkflow> ws;
    synchronized (lock) {
      ws = all();
    }
    for (TestWorkflow w : ws) {
      w.awaitIdle();
    }
  }

  /** Kills every workflow JVM still running, and deletes the environment's directory. */
  @Override
  public void close() {
    List<TestWorkflow> ws;
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      ws = all();
    }
    for (TestWorkflow w : ws) {
      w.kill();
    }
    deleteTree(dir);
    if (realRunBase != null) {
      deleteTree(realRunBase);
    }
  }

  private static void deleteTree(Path root) {
    try (Stream<Path> s = Files.walk(root)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      System.err.println("torpor-testing: cannot delete " + root + ": " + e.getMessage());
    }
  }

  /** Options of an environment. */
  public static final class Builder {
    private final List<Path> classPath = new ArrayList<>();
    private final List<String> javaOptions = new ArrayList<>();
    private final Map<String, String> env = new LinkedHashMap<>();
    private Duration idleTimeout = DEFAULT_IDLE_TIMEOUT;
    private Path torporJar;

    private Builder() {
      for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
        if (!e.isEmpty()) {
          classPath.add(Path.of(e));
        }
      }
    }

    /** The workflow JVMs' class path, instead of the test's own (which must hold the agent, {@code torpor-agent}). */
    public Builder classPath(List<Path> entries) {
      classPath.clear();
      classPath.addAll(entries);
      return this;
    }

    /** More options for every workflow JVM ({@code -Xmx64m}, {@code -agentlib:jdwp=...} to debug one). */
    public Builder javaOptions(String... options) {
      javaOptions.addAll(Arrays.asList(options));
      return this;
    }

    /** An environment variable for every workflow JVM, on top of the test process's own. */
    public Builder env(String name, String value) {
      if (name.startsWith("TORPOR_")) {
        throw new IllegalArgumentException("environment variable " + name + " is reserved for Torpor: choose another name");
      }
      env.put(name, value);
      return this;
    }

    /**
     * Real time a workflow gets to reach its next wait or its end before a call that waits for it
     * gives up with its output so far.
     */
    public Builder idleTimeout(Duration timeout) {
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("the idle timeout must be positive: " + timeout);
      }
      this.idleTimeout = timeout;
      return this;
    }

    /**
     * Real checkpoints, for fidelity: each workflow runs under a real worker ({@code torpor run}
     * from {@code torporJar}, the CLI's jar), which checkpoints its JVM with CRIU at every wait
     * (the process is gone) and restores the image when this environment's clock says the wait is
     * over. Slower (a checkpoint and a restore per wait, some 100 ms on a small JVM) and, like any
     * worker, needs root and CRIU ({@code torpor doctor} says what is missing); the same test code
     * runs in both modes. The workflow JVMs then run as the worker's unprivileged workflow user,
     * with the worker's environment rules, and their class path is copied where that user reads it.
     */
    public Builder realCheckpoints(Path torporJar) {
      if (!Files.isRegularFile(torporJar)) {
        throw new IllegalArgumentException("real checkpoints need the torpor CLI's jar; " + torporJar + " is not a file"
            + " (build it with `mvn -pl launcher -am package -DskipTests`: launcher/target/torpor.jar)");
      }
      this.torporJar = torporJar.toAbsolutePath();
      return this;
    }

    public TorporTestEnvironment build() {
      return new TorporTestEnvironment(this);
    }
  }
}
