package dev.torpor.scheduler;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The worker side of a control plane in tests: it runs nothing, and records what it was asked
 * ({@code "start ID"}, {@code "wake ID SEQ REASON[ PAYLOAD]"}, {@code "kill ID"}). The real
 * worker is tested end to end in the launcher module; here the point is the control plane's rules.
 */
public final class RecordingGateway implements WorkerGateway {
  /** Every call, in order. */
  public final List<String> calls = new CopyOnWriteArrayList<>();
  /** The environment each started workflow was given. */
  public final Map<String, Map<String, String>> envs = new ConcurrentHashMap<>();
  /** The newest wakeup each workflow was given. */
  public final Map<String, Wakeup> wakeups = new ConcurrentHashMap<>();
  /** Free JVM slots. */
  public final AtomicInteger slots;
  private volatile boolean failStarts;

  public RecordingGateway(int slots) {
    this.slots = new AtomicInteger(slots);
  }

  /** Makes every later start fail, as a worker that cannot launch a JVM does. */
  public void failStarts() {
    failStarts = true;
  }

  @Override
  public boolean tryReserve() {
    return slots.getAndUpdate(s -> s > 0 ? s - 1 : s) > 0;
  }

  @Override
  public void release() {
    slots.incrementAndGet();
  }

  @Override
  public void start(String id, String sha, Path jar, String main, List<String> args, List<String> opts,
      Map<String, String> env) throws IOException {
    calls.add("start " + id);
    envs.put(id, env);
    if (failStarts) {
      throw new IOException("no JVM for you");
    }
  }

  @Override
  public void wake(String id, long seq, String sha, Path jar, Wakeup w) {
    wakeups.put(id, w);
    calls.add("wake " + id + " " + seq + " " + w.reason()
        + (w.signals().isEmpty() ? "" : " " + String.join(",", w.signals().stream().map(s -> s.text()).toList())));
  }

  @Override
  public void kill(String id) {
    calls.add("kill " + id);
  }

  /** How many times {@code call} was made. */
  public long count(String call) {
    return calls.stream().filter(call::equals).count();
  }

  /** The calls about one workflow of one kind ({@code "wake"}, {@code "start"}, ...). */
  public List<String> calls(String kind, String id) {
    return calls.stream().filter(c -> c.startsWith(kind + " " + id + " ") || c.equals(kind + " " + id)).toList();
  }

  /** Waits up to 10 s for {@code call}. */
  public void awaitCall(String call) {
    // Polled often: a dispatch or wake takes milliseconds, and tests wait for many.
    await().pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(5)).atMost(Duration.ofSeconds(10))
        .until(() -> calls.contains(call));
  }
}
