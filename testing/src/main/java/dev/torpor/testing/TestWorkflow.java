package dev.torpor.testing;

import dev.torpor.PendingWait;
import dev.torpor.Signal;
import dev.torpor.SignalName;
import dev.torpor.WaitKind;
import dev.torpor.WakeReason;
import dev.torpor.internal.SupervisedRuntime;
import dev.torpor.internal.protocol.Frame;
import dev.torpor.internal.protocol.FrameCodec;
import dev.torpor.internal.protocol.MessageType;
import dev.torpor.internal.protocol.ProtocolException;
import dev.torpor.internal.protocol.Suspend;
import dev.torpor.internal.protocol.Wake;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PushbackInputStream;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;

/**
 * One workflow of a {@link TorporTestEnvironment}: its JVM, its waits, its output and its exit.
 *
 * <p>The workflow runs in real time between waits; {@link #awaitWaiting()} and {@link
 * #awaitExit()} wait (in real time, at most the environment's idle timeout) until it waits or
 * ends. Its output (stdout and stderr together, as a worker's log has them) is complete up to
 * its last wait whenever it waits.
 */
public final class TestWorkflow {
  private static final int MARKER_MAX = 96;
  private static final byte MARK = 0x1e;
  private static final String MARKER_PREFIX = "TORPOR-SYNC-";

  private final TorporTestEnvironment env;
  private final Object lock;
  private final String id;
  private final Path runDir;
  private final Process process;
  private final ServerSocketChannel control;
  private final Thread pump;
  private final Path torporLog;
  private final ByteArrayOutputStream output = new ByteArrayOutputStream();
  /** Complete once its exit is recorded. */
  private final java.util.concurrent.CompletableFuture<Void> ended = new java.util.concurrent.CompletableFuture<>();

  // ----- guarded by lock -----
  /** The waits of the last SUSPEND, less those a wake ended since. */
  private List<PendingWait> waits = List.of();
  /** Whether the JVM sent a SUSPEND and got no wake since: its waiting threads are blocked. */
  private boolean suspended;
  /** The output marker of the last SUSPEND, and the last one the output carried. */
  private String expectedMarker = "";
  private String seenMarker = "";
  private final LinkedList<Signal> mailbox = new LinkedList<>();
  private final List<WaitRecord> history = new ArrayList<>();
  private final Map<Long, Integer> historyIndex = new HashMap<>();
  private Integer exitCode;
  private long wakes;
  /** The image the last SUSPEND named (real checkpoints), which its wake must name too. */
  private Optional<Long> imageSeq = Optional.empty();

  /**
   * @param torporLog with real checkpoints, where {@code torpor run}'s own messages go (the
   *     workflow's output comes on its stdout); null when the command is the workflow's JVM itself
   */
  TestWorkflow(TorporTestEnvironment env, String id, Path runDir, List<String> command, Map<String, String> extraEnv,
      Path torporLog) throws IOException {
    this.env = env;
    this.lock = env.lock;
    this.id = id;
    this.runDir = runDir;
    this.control = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    control.bind(UnixDomainSocketAddress.of(runDir.resolve(SupervisedRuntime.CONTROL_SOCKET)), 16);
    Thread acceptor = new Thread(this::acceptLoop, "torpor-test-control-" + id);
    acceptor.setDaemon(true);
    acceptor.start();
    this.torporLog = torporLog;
    ProcessBuilder pb = new ProcessBuilder(command).directory(runDir.toFile());
    if (torporLog == null) {
      pb.redirectErrorStream(true);
    } else {
      pb.redirectError(torporLog.toFile());
    }
    pb.environment().keySet().removeIf(k -> k.startsWith("TORPOR_")); // a developer's token stays out
    pb.environment().putAll(extraEnv);
    pb.environment().put(SupervisedRuntime.ENV_WORKFLOW_ID, id);
    pb.environment().put(SupervisedRuntime.ENV_RUN_DIR, runDir.toString());
    try {
      this.process = pb.start();
    } catch (IOException e) {
      control.close();
      throw e;
    }
    process.getOutputStream().close();
    this.pump = new Thread(() -> pump(process.getInputStream()), "torpor-test-output-" + id);
    pump.setDaemon(true);
    pump.start();
    process.onExit().thenRun(this::exited).whenComplete((v, e) -> ended.complete(null));
  }

  /** Its id, which {@code Durable.workflowId()} returns inside it. */
  public String id() {
    return id;
  }

  /**
   * Sends it a signal: delivered to its first wait that accepts the name, at once if one waits,
   * otherwise kept until one does (as a worker's mailbox keeps it). Returns without waiting for
   * the workflow to act on it.
   *
   * @throws IllegalArgumentException if the name is not a valid signal name
   */
  public void signal(String name, String payload) {
    signal(name, payload.getBytes(StandardCharsets.UTF_8));
  }

  /** {@link #signal(String, String)} with a binary payload. */
  public void signal(String name, byte[] payload) {
    SignalName.of(Objects.requireNonNull(name, "name"));
    Objects.requireNonNull(payload, "payload");
    synchronized (lock) {
      if (exitCode != null) {
        throw new IllegalStateException("workflow " + id + " has ended (exit code " + exitCode + "): nothing receives signal '"
            + name + "'");
      }
      mailbox.add(new Signal(name, payload.clone(), env.now()));
      deliverDue();
    }
  }

  /**
   * Waits (in real time) until the workflow waits or ends; returns its waits, empty once it ended.
   *
   * @throws IllegalStateException if it does neither within the environment's idle timeout
   */
  public List<PendingWait> awaitWaiting() {
    awaitIdle();
    synchronized (lock) {
      return exitCode != null ? List.of() : waits;
    }
  }

  /**
   * Runs the workflow to its end and returns its exit code, skipping virtual time over every
   * timer and deadline it waits for (and waking the environment's other workflows whose waits
   * fall due on the way).
   *
   * @throws IllegalStateException if it waits for a signal with no deadline (send it first), or
   *     runs longer than the idle timeout without waiting or ending
   */
  public int awaitExit() {
    while (true) {
      awaitIdle();
      Instant next;
      synchronized (lock) {
        if (exitCode != null) {
          return exitCode;
        }
        Optional<Instant> n = nextDeadline();
        if (n.isEmpty()) {
          throw new IllegalStateException("workflow " + id + " waits with no deadline, so no time skipped ends its waits: "
              + waits.stream().map(w -> w.kind() + (w.signals().isEmpty() ? "" : " " + w.signals())).toList()
              + "; send a signal it waits for before awaitExit()");
        }
        next = n.get();
      }
      env.advanceTo(next);
    }
  }

  /** Its exit code, once it has ended. */
  public OptionalInt exitCode() {
    synchronized (lock) {
      return exitCode == null ? OptionalInt.empty() : OptionalInt.of(exitCode);
    }
  }

  /** What it printed so far, stdout and stderr together, without the agent's output markers. */
  public String output() {
    synchronized (output) {
      return output.toString(StandardCharsets.UTF_8);
    }
  }

  /** Every wait it began, in order, with how each ended. */
  public List<WaitRecord> history() {
    synchronized (lock) {
      return List.copyOf(history);
    }
  }

  /** The waits it has now (empty while it runs or after it ended). */
  public List<PendingWait> pendingWaits() {
    synchronized (lock) {
      return suspended ? waits : List.of();
    }
  }

  /** Kills its JVM (SIGKILL), if it still runs, and returns once its exit is recorded. */
  public void kill() {
    process.destroyForcibly();
    try {
      ended.get(20, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      System.err.println("torpor-testing: workflow " + id + " did not end within 20 s of SIGKILL: " + e);
    }
    try {
      control.close();
    } catch (IOException e) {
      // closing
    }
  }

  @Override
  public String toString() {
    return "workflow " + id;
  }

  // ----- the environment's side -----

  /** The earliest timer or deadline of its waits while it waits (the caller holds the lock). */
  Optional<Instant> nextDeadline() {
    return suspended && exitCode == null ? PendingWait.earliest(waits) : Optional.empty();
  }

  private boolean idle() {
    return exitCode != null || suspended && expectedMarker.equals(seenMarker);
  }

  /** Waits until it waits (its output caught up) or has ended. */
  void awaitIdle() {
    long deadline = System.nanoTime() + env.idleTimeout().toNanos();
    synchronized (lock) {
      while (!idle()) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new IllegalStateException("workflow " + id + " neither waited nor ended within " + env.idleTimeout()
              + " of real time; its output so far:\n" + tail(output(), 4000) + torporLogTail());
        }
        try {
          TimeUnit.NANOSECONDS.timedWait(lock, left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while waiting for workflow " + id, e);
        }
      }
    }
  }

  /**
   * Wakes it if something it waits for is there, as a worker decides a wake: signals in the
   * mailbox (each to the first wait, by id, that accepts it), a savepoint, timers and deadlines
   * due on the virtual clock (the caller holds the lock).
   */
  void deliverDue() {
    if (!suspended || exitCode != null) {
      return;
    }
    Instant now = env.now();
    List<Signal> claimed = new ArrayList<>();
    Map<Long, Signal> given = new HashMap<>();
    for (PendingWait w : waits) {
      if (w.kind() != WaitKind.SIGNAL) {
        continue;
      }
      for (Iterator<Signal> it = mailbox.iterator(); it.hasNext(); ) {
        Signal s = it.next();
        if (w.accepts(s.name())) {
          it.remove();
          claimed.add(s);
          given.put(w.id(), s);
          break;
        }
      }
    }
    WakeReason reason;
    if (!claimed.isEmpty()) {
      reason = WakeReason.SIGNAL;
    } else if (waits.stream().anyMatch(w -> w.kind() == WaitKind.CHECKPOINT)) {
      reason = WakeReason.CHECKPOINT;
    } else {
      Optional<PendingWait> due = waits.stream().filter(w -> w.dueAt(now)).findFirst();
      if (due.isEmpty()) {
        return;
      }
      reason = due.get().kind() == WaitKind.SIGNAL ? WakeReason.TIMEOUT : WakeReason.TIMER;
    }
    wakes++;
    Wake wake = new Wake(reason, imageSeq.orElse(wakes), false, Optional.empty(), runDir.resolve(SupervisedRuntime.CONTROL_SOCKET).toString(),
        claimed, now);
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(runDir.resolve(SupervisedRuntime.WAKE_SOCKET)));
      FrameCodec.write(Channels.newOutputStream(ch), wake.toFrame());
    } catch (IOException e) {
      mailbox.addAll(0, claimed);
      if (!process.isAlive()) {
        return; // it died meanwhile: its exit is recorded on its own
      }
      throw new UncheckedIOException("cannot wake workflow " + id + ": " + e.getMessage(), e);
    }
    // What the wake ends, by the agent's own rules (WaitSet.settle): the rest stay in the set.
    List<PendingWait> left = new ArrayList<>();
    for (PendingWait w : waits) {
      Signal s = given.get(w.id());
      WakeReason ended = s != null ? WakeReason.SIGNAL
          : w.kind() == WaitKind.CHECKPOINT ? WakeReason.CHECKPOINT
          : w.dueAt(now) ? (w.kind() == WaitKind.SIGNAL ? WakeReason.TIMEOUT : WakeReason.TIMER)
          : null;
      if (ended == null) {
        left.add(w);
      } else {
        Integer i = historyIndex.get(w.id());
        if (i != null) {
          history.set(i, history.get(i).end(now, ended, Optional.ofNullable(s)));
        }
      }
    }
    waits = List.copyOf(left);
    suspended = false;
    lock.notifyAll();
  }

  private void onSuspend(Suspend s, Optional<Long> seq) {
    synchronized (lock) {
      imageSeq = seq;
      Instant now = env.now();
      for (PendingWait w : s.waits()) {
        if (!historyIndex.containsKey(w.id())) {
          historyIndex.put(w.id(), history.size());
          history.add(new WaitRecord(w, now, Optional.empty(), Optional.empty(), Optional.empty()));
        }
      }
      waits = List.copyOf(s.waits());
      expectedMarker = s.marker();
      suspended = true;
      deliverDue();
      lock.notifyAll();
    }
  }

  private void acceptLoop() {
    while (control.isOpen()) {
      try (SocketChannel ch = control.accept()) {
        Frame f = FrameCodec.read(Channels.newInputStream(ch));
        if (f.type() == MessageType.SUSPEND) {
          onSuspend(Suspend.from(f), f.number("seq"));
        } // RESUMED and the rest: nothing to do
      } catch (ProtocolException e) {
        System.err.println("torpor-testing: workflow " + id + " sent a bad frame: " + e.getMessage());
      } catch (IOException e) {
        if (control.isOpen()) {
          System.err.println("torpor-testing: workflow " + id + "'s control socket: " + e.getMessage());
        }
      } catch (RuntimeException e) {
        System.err.println("torpor-testing: workflow " + id + ": " + e);
      }
    }
  }

  /** Copies the JVM's output, taking out the markers the agent writes before each wait. */
  private void pump(InputStream raw) {
    try (PushbackInputStream in = new PushbackInputStream(raw, MARKER_MAX + 2)) {
      int b;
      while ((b = in.read()) >= 0) {
        if (b != MARK) {
          write(b);
          continue;
        }
        byte[] body = new byte[MARKER_MAX];
        int n = 0;
        boolean closed = false;
        while (n < MARKER_MAX) {
          int c = in.read();
          if (c < 0) {
            break;
          }
          if (c == MARK) {
            closed = true;
            break;
          }
          body[n++] = (byte) c;
        }
        String text = new String(body, 0, n, StandardCharsets.ISO_8859_1);
        if (closed && text.startsWith(MARKER_PREFIX)) {
          synchronized (lock) {
            seenMarker = "\u001e" + text + "\u001e";
            lock.notifyAll();
          }
        } else {
          write(MARK); // not a marker: the bytes are output, read again from after the first
          if (closed) {
            in.unread(MARK);
          }
          in.unread(body, 0, n);
        }
      }
    } catch (IOException e) {
      // the JVM ended
    }
  }

  private void write(int b) {
    synchronized (output) {
      output.write(b);
    }
  }

  private void exited() {
    try {
      pump.join(TimeUnit.SECONDS.toMillis(10));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    synchronized (lock) {
      exitCode = process.exitValue();
      suspended = false;
      lock.notifyAll();
    }
    try {
      control.close();
    } catch (IOException e) {
      // closing
    }
  }

  /** With real checkpoints, the end of {@code torpor run}'s own messages (why a checkpoint failed, say). */
  String torporLogTail() {
    String m = torporMessages();
    return m.isEmpty() ? "" : "\ntorpor run's messages:\n" + tail(m, 4000);
  }

  /** With real checkpoints, what {@code torpor run} itself said (its events, its errors); empty otherwise. */
  public String torporMessages() {
    if (torporLog == null) {
      return "";
    }
    try {
      return java.nio.file.Files.readString(torporLog, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(cannot read " + torporLog + ": " + e.getMessage() + ")";
    }
  }

  private static String tail(String s, int max) {
    return s.length() <= max ? s : "..." + s.substring(s.length() - max);
  }
}
