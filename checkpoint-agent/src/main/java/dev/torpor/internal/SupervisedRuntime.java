package dev.torpor.internal;

import dev.torpor.CheckpointException;
import dev.torpor.Signal;
import dev.torpor.TorporException;
import dev.torpor.WaitKind;
import dev.torpor.WakeReason;
import dev.torpor.internal.WaitSet.Round;
import dev.torpor.internal.WaitSet.Waiter;
import dev.torpor.internal.protocol.Frame;
import dev.torpor.internal.protocol.FrameCodec;
import dev.torpor.internal.protocol.Resumed;
import dev.torpor.internal.protocol.Suspend;
import dev.torpor.internal.protocol.Wake;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.crac.Resource;

/**
 * The runtime of a JVM started by a worker. Every {@code Durable} wait joins the JVM's wait set
 * and blocks; one coordinator thread decides when the set is checkpointed. It runs the
 * resources' {@code beforeCheckpoint} hooks, marks the output stream, sends one SUSPEND with the
 * whole set to the worker's control socket and blocks until a WAKE arrives on the wake socket.
 * Between the two the worker dumps the process, and the WAKE arrives in the restored process;
 * the coordinator then ends every wait the wake satisfies and leaves the others in the set.
 *
 * <p>When: a new wait is checkpointed at once when every other thread of the application is
 * blocked in a wait of its own; otherwise once no other thread has run for {@link #QUIET_NANOS}
 * (they are idle: parked, sleeping, blocked in I/O), or at the latest {@link #settleNanos} after
 * the last wait began (threads still computing are then frozen with the process). Waits left
 * over after a wake are checkpointed again once the threads the wake released, and every other
 * thread, are idle, or when a new wait begins.
 */
public final class SupervisedRuntime implements DurableRuntime {
  /** Environment variables the worker sets. */
  public static final String ENV_WORKFLOW_ID = "TORPOR_WORKFLOW_ID";

  public static final String ENV_RUN_DIR = "TORPOR_RUN_DIR";
  /**
   * The system property {@code torpor-testing} sets for virtual time: the test clock's lead on the
   * wall clock at the JVM's start, in ms. {@link #now()} then follows the test's clock, which each
   * wake's {@code asOf} moves forward. A worker never sets it (a workflow that sets it itself only
   * shifts its own clock).
   */
  public static final String VIRTUAL_CLOCK_PROPERTY = "torpor.test.clockLeadMillis";
  public static final String CONTROL_SOCKET = "ctl.sock";
  public static final String WAKE_SOCKET = "wake.sock";
  /** The system property that sets the settle window in milliseconds. */
  public static final String SETTLE_PROPERTY = "torpor.wait.settleMillis";
  /** The settle window's default, in milliseconds (see the README on concurrent waits for how it was chosen). */
  public static final long DEFAULT_SETTLE_MILLIS = 20;
  /**
   * The system property that turns off ({@code false}) the full collection before a checkpoint.
   * The agent collects before a checkpoint when the heap grew by more than {@link #GC_GROWTH_BYTES}
   * (committed or in use) since the last such collection, and before the first. With the worker's
   * default options the heap then shrinks to what the live objects need, and the memory the
   * garbage held is given back instead of being dumped, stored and restored.
   */
  public static final String GC_PROPERTY = "torpor.checkpoint.gc";
  /** How much the heap may grow since the last collection before a checkpoint without another. */
  public static final long GC_GROWTH_BYTES = 8L << 20;

  private static final int CONNECT_ATTEMPTS = 50;
  /** How long the other threads must stay idle before a checkpoint that does not wait out the settle window. */
  private static final long QUIET_NANOS = TimeUnit.MILLISECONDS.toNanos(2);
  private static final long MAX_POLL_MILLIS = 20;

  private final String workflowId;
  private final Path runDir;
  private final ResourceRegistry resources = new ResourceRegistry();
  private final FileOutputStream rawStdout = new FileOutputStream(FileDescriptor.out);
  private final long settleNanos;
  private final boolean gcBeforeCheckpoint = gcBeforeCheckpoint();
  /** The heap committed and in use after the last collection before a checkpoint (-1: none yet); the coordinator's alone. */
  private long committedAfterGc = -1;
  private long usedAfterGc = -1;
  /** Guards everything below. */
  private final Object mon = new Object();
  private final WaitSet waits = new WaitSet();
  /** Whether a wait began that no SUSPEND carried yet, and when the first of them began. */
  private boolean fresh;
  private long firstFresh;
  private long lastBegun;
  /** Waits ended whose threads have not yet returned from {@code Durable}. */
  private int returning;
  private Thread coordinator;
  private WakeListener listener;
  /** What the other threads are doing (coordinator thread only). */
  private final ThreadActivity activity = new ThreadActivity(SupervisedRuntime.class.getName());
  /** The idle threads the last look saw (coordinator thread only). */
  private String others = "";
  private String workerAddress;
  private long markers;

  /** Whether {@link #now()} is a test's virtual clock, and its lead on the wall clock in ms. */
  private final boolean virtualClock;
  private volatile long clockLeadMillis;

  public SupervisedRuntime(String workflowId, Path runDir) {
    this.workflowId = workflowId;
    this.runDir = runDir;
    String lead = System.getProperty(VIRTUAL_CLOCK_PROPERTY);
    this.virtualClock = lead != null;
    if (lead != null) {
      try {
        clockLeadMillis = Math.max(0, Long.parseLong(lead.trim()));
      } catch (NumberFormatException e) {
        throw new TorporException("-D" + VIRTUAL_CLOCK_PROPERTY + "=" + lead + " is not a number of milliseconds", e);
      }
    }
    this.workerAddress = runDir.resolve(CONTROL_SOCKET).toString();
    this.settleNanos = TimeUnit.MILLISECONDS.toNanos(settleMillis());
  }

  private static boolean gcBeforeCheckpoint() {
    String v = System.getProperty(GC_PROPERTY, "true").trim();
    if (!v.equals("true") && !v.equals("false")) {
      System.err.println("torpor: -D" + GC_PROPERTY + "=" + v + " is neither true nor false; using true");
    }
    return !v.equals("false");
  }

  private static long settleMillis() {
    String v = System.getProperty(SETTLE_PROPERTY);
    if (v == null) {
      return DEFAULT_SETTLE_MILLIS;
    }
    try {
      long ms = Long.parseLong(v.trim());
      if (ms >= 0 && ms <= 60_000) {
        return ms;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    System.err.println("torpor: -D" + SETTLE_PROPERTY + "=" + v + " is not a number of milliseconds from 0 to 60000;"
        + " using " + DEFAULT_SETTLE_MILLIS);
    return DEFAULT_SETTLE_MILLIS;
  }

  @Override
  public String workflowId() {
    return workflowId;
  }

  @Override
  public boolean isDurable() {
    return true;
  }

  @Override
  public Instant now() {
    return virtualClock ? Instant.now().plusMillis(clockLeadMillis) : Instant.now();
  }

  @Override
  public void sleepUntil(Instant wakeAt) {
    await(WaitKind.TIMER, List.of(), Optional.of(wakeAt));
  }

  @Override
  public Optional<Signal> awaitSignal(List<String> names, Optional<Instant> deadline) {
    Waiter w = await(WaitKind.SIGNAL, names, deadline);
    return w.outcome.signal();
  }

  @Override
  public void checkpoint() {
    Waiter w = await(WaitKind.CHECKPOINT, List.of(), Optional.empty());
    Round r = w.round;
    // The hooks ran on the coordinator's thread: org.crac's checkpointRestore, on this one, sorts them.
    dev.torpor.internal.crac.GlobalContext.report(r.refusals(), r.afterFailures());
    if (r.checkpointFailure().isPresent()) {
      CheckpointException e = new CheckpointException(workflowId, "checkpoint failed: " + r.checkpointFailure().get());
      r.afterFailures().forEach(e::addSuppressed);
      throw e;
    }
    if (!r.refusals().isEmpty()) {
      CheckpointException e = new CheckpointException(workflowId, "resources refused the checkpoint");
      r.refusals().forEach(e::addSuppressed);
      r.afterFailures().forEach(e::addSuppressed);
      throw e;
    }
  }

  @Override
  public void register(Resource resource) {
    resources.register(resource);
  }

  /** Joins the wait set and blocks, uninterruptibly, until the wait ends. */
  private Waiter await(WaitKind kind, List<String> names, Optional<Instant> wakeAt) {
    String stack = stackOfCaller();
    boolean interrupted = false;
    Waiter w;
    synchronized (mon) {
      w = waits.add(kind, names, wakeAt, stack);
      if (w.outcome != null) {
        return w; // a signal delivered earlier that no wait took
      }
      lastBegun = System.nanoTime();
      if (!fresh) {
        firstFresh = lastBegun;
      }
      fresh = true;
      startCoordinator();
      mon.notifyAll();
      while (w.outcome == null && w.round.error() == null) {
        try {
          mon.wait();
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      returning--;
      mon.notifyAll();
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    if (w.round.error() != null) {
      throw w.round.error();
    }
    return w;
  }

  private void startCoordinator() {
    if (coordinator == null) {
      coordinator = new Thread(this::coordinate, "torpor-waits");
      coordinator.setDaemon(true);
      coordinator.start();
    }
  }

  /** Why the last batch was let go: every other thread waits, they are idle, or the settle window passed. */
  private String trigger = "";

  private void coordinate() {
    while (true) {
      List<Waiter> batch = awaitCheckpointable();
      long gathered;
      synchronized (mon) {
        gathered = firstFresh == 0 ? 0 : (System.nanoTime() - firstFresh) / 1_000;
        firstFresh = 0;
      }
      round(batch, gathered, trigger);
    }
  }

  /** Blocks until the wait set should be checkpointed (see the class comment); returns it. */
  private List<Waiter> awaitCheckpointable() {
    long quietSince = -1;
    long poll = 1;
    synchronized (mon) {
      while (true) {
        if (waits.isEmpty() || returning > 0) {
          quietSince = -1;
          waitQuietly(0);
          continue;
        }
        List<Waiter> batch = waits.snapshot();
        long now = System.nanoTime();
        Activity a = othersActivity(batch);
        boolean settled = fresh && now - lastBegun >= settleNanos;
        if (a == Activity.NONE || settled) {
          trigger = a == Activity.NONE ? "every other thread waits" : "settle window passed; others: " + others;
          fresh = false;
          return batch;
        }
        if (a == Activity.BUSY) {
          quietSince = -1;
          poll = Math.min(poll * 2, MAX_POLL_MILLIS);
        } else {
          quietSince = quietSince < 0 ? now : quietSince;
          poll = 1;
          if (now - quietSince >= QUIET_NANOS && now - lastBegun >= QUIET_NANOS) {
            trigger = "the other threads are idle: " + others;
            fresh = false;
            return batch;
          }
        }
        long wait = poll;
        if (fresh) {
          wait = Math.min(wait, Math.max(1, TimeUnit.NANOSECONDS.toMillis(settleNanos - (now - lastBegun))));
        }
        waitQuietly(wait);
      }
    }
  }

  private void waitQuietly(long millis) {
    try {
      mon.wait(millis);
    } catch (InterruptedException e) {
      // nobody interrupts the coordinator but the JVM's end
    }
  }

  /** What the application's threads that do not wait are doing. */
  private enum Activity { NONE, IDLE, BUSY }

  /**
   * Whether any application thread other than the waiting ones exists, and whether one runs (see
   * {@link ThreadActivity}). The JDK's own threads (the system thread group and its innocuous
   * threads) and Torpor's do not count.
   */
  private Activity othersActivity(List<Waiter> batch) {
    Set<Thread> waiting = new HashSet<>();
    for (Waiter w : batch) {
      waiting.add(w.thread);
    }
    Activity seen = Activity.NONE;
    StringBuilder sb = new StringBuilder();
    others = "";
    for (Thread t : liveThreads()) {
      if (waiting.contains(t) || t == coordinator || t.getName().startsWith("torpor-") || !isApplication(t)) {
        continue;
      }
      Thread.State state = t.getState();
      StackTraceElement[] stack = ThreadActivity.needsStack(state) ? t.getStackTrace() : new StackTraceElement[0];
      if (activity.busy(t, state, stack, System.nanoTime())) {
        return Activity.BUSY;
      }
      seen = Activity.IDLE;
      if (sb.length() < 400) {
        sb.append(sb.length() == 0 ? "" : "; ").append('"').append(t.getName()).append("\" ").append(state)
            .append(stack.length == 0 ? "" : " at " + stack[0]);
      }
    }
    others = sb.toString();
    return seen;
  }

  /** Every live thread of the JVM (listing them needs no stack walk, unlike {@code Thread.getAllStackTraces}). */
  private static Thread[] liveThreads() {
    ThreadGroup root = Thread.currentThread().getThreadGroup();
    while (root.getParent() != null) {
      root = root.getParent();
    }
    Thread[] all = new Thread[root.activeCount() + 16];
    int n;
    while ((n = root.enumerate(all, true)) == all.length) {
      all = new Thread[all.length * 2];
    }
    return java.util.Arrays.copyOf(all, n);
  }

  private static boolean isApplication(Thread t) {
    ThreadGroup g = t.getThreadGroup();
    return g != null && g.getParent() != null && !"InnocuousThreadGroup".equals(g.getName()) && t.isAlive();
  }

  /** One checkpoint of the wait set {@code batch}, and the wake that ends it. */
  private void round(List<Waiter> batch, long gatherMicros, String trigger) {
    List<Throwable> refusals = resources.beforeCheckpoint();
    if (gcBeforeCheckpoint) {
      collectIfGrown(); // after the hooks, which may have dropped what they held
    }
    WakeListener l;
    Wake wake;
    try {
      l = listener();
      l.clear();
      String marker = "\u001eTORPOR-SYNC-" + (++markers) + "-" + System.nanoTime() + "\u001e";
      Optional<String> refused =
          refusals.isEmpty() ? Optional.empty() : Optional.of("a resource refused: " + refusals.get(0));
      syncOutput(marker);
      send(new Suspend(workflowId, batch.stream().map(w -> w.wait).toList(), marker, refused, gatherMicros, trigger).toFrame());
    } catch (RuntimeException e) {
      resources.afterRestore();
      synchronized (mon) {
        Round failed = new Round(refusals, List.of(), Optional.empty(), e);
        List<Waiter> ended = waits.fail(batch);
        ended.forEach(w -> w.round = failed);
        returning += ended.size();
        mon.notifyAll();
      }
      return;
    }
    // The worker may dump the process from here on; the next line may run in a restored JVM.
    wake = l.take();
    long t0 = System.nanoTime();
    List<Throwable> afterFailures = resources.afterRestore();
    long hooks = System.nanoTime() - t0;
    workerAddress = wake.workerAddress();
    trySend(new Resumed(workflowId, wake.seq(), hooks).toFrame());
    boolean onlySavepoints = batch.stream().allMatch(w -> w.wait.kind() == WaitKind.CHECKPOINT);
    if (!onlySavepoints) {
      for (Throwable t : refusals) {
        System.err.println("torpor: a resource refused the checkpoint; the wait was kept in memory: " + t);
      }
      wake.checkpointFailure().ifPresent(f -> System.err.println("torpor: checkpoint failed, the wait was kept in memory: " + f));
    }
    for (Throwable t : afterFailures) {
      System.err.println("torpor: a resource failed in afterRestore: " + t);
    }
    Round round = new Round(refusals, afterFailures, wake.checkpointFailure(), null);
    if (virtualClock) {
      clockLeadMillis = Math.max(clockLeadMillis, wake.asOf().toEpochMilli() - System.currentTimeMillis());
    }
    Instant now = now();
    Instant asOf = wake.asOf().isAfter(now) ? wake.asOf() : now;
    synchronized (mon) {
      List<Waiter> ended = waits.settle(batch, wake.reason(), wake.signals(), asOf);
      ended.forEach(w -> w.round = round);
      returning += ended.size();
      mon.notifyAll();
    }
  }

  /** See {@link #GC_PROPERTY}. */
  private void collectIfGrown() {
    Runtime rt = Runtime.getRuntime();
    long committed = rt.totalMemory();
    long used = committed - rt.freeMemory();
    if (committedAfterGc < 0 || committed - committedAfterGc > GC_GROWTH_BYTES || used - usedAfterGc > GC_GROWTH_BYTES) {
      System.gc();
      committedAfterGc = rt.totalMemory();
      usedAfterGc = committedAfterGc - rt.freeMemory();
    }
  }

  private WakeListener listener() {
    if (listener == null) {
      try {
        listener = new WakeListener(runDir.resolve(WAKE_SOCKET));
      } catch (IOException e) {
        throw new TorporException("cannot listen on the wake socket in " + runDir + ": " + e.getMessage(), e);
      }
    }
    return listener;
  }

  /** Flushes Java's buffers and writes a marker straight to fd 1 (stdout and stderr share a pipe). */
  private void syncOutput(String marker) {
    System.out.flush();
    System.err.flush();
    try {
      rawStdout.write(marker.getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new TorporException("cannot write to stdout before a checkpoint: " + e.getMessage(), e);
    }
  }

  private void send(Frame frame) {
    IOException last = null;
    for (int attempt = 0; attempt < CONNECT_ATTEMPTS; attempt++) {
      try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
        ch.connect(UnixDomainSocketAddress.of(workerAddress));
        FrameCodec.write(Channels.newOutputStream(ch), frame);
        return;
      } catch (IOException e) {
        last = e;
        Uninterruptibles.sleepUntil(Instant.now().plusMillis(100));
      }
    }
    throw new TorporException(
        "workflow " + workflowId + " cannot reach its worker at " + workerAddress + ": " + last.getMessage(), last);
  }

  private void trySend(Frame frame) {
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(workerAddress));
      FrameCodec.write(Channels.newOutputStream(ch), frame);
    } catch (IOException e) {
      System.err.println("torpor: could not tell the worker the workflow resumed: " + e.getMessage());
    }
  }

  /** The waiting thread's stack from the {@code Durable} call down, for {@code torpor status}. */
  private static String stackOfCaller() {
    StackTraceElement[] frames = Thread.currentThread().getStackTrace();
    int start = 0;
    for (int i = 0; i < frames.length; i++) {
      if (frames[i].getClassName().equals("dev.torpor.Durable")) {
        start = i;
        break;
      }
    }
    StringBuilder s = new StringBuilder("\"").append(Thread.currentThread().getName()).append("\"\n");
    for (int i = start; i < frames.length; i++) {
      s.append("\tat ").append(frames[i]).append('\n');
    }
    return s.toString();
  }
}
