package dev.torpor.internal;

import dev.torpor.Signal;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.crac.Resource;

/**
 * The runtime of a JVM that no worker supervises (a plain {@code java -cp ... Main}): waits
 * happen in memory, nothing is persisted, and one line on stderr says so. A signal can be
 * supplied with {@code -Dtorpor.local.signal.NAME=payload}; it is delivered once.
 */
public final class LocalRuntime implements DurableRuntime {
  private final ResourceRegistry resources = new ResourceRegistry();
  private final String id;

  public LocalRuntime() {
    this.id = System.getProperty("torpor.workflow.id", "local-" + ProcessHandle.current().pid());
    System.err.println(
        "torpor: not supervised by a worker: waits happen in memory and nothing is durable"
            + " (run it with `torpor run` or `torpor submit` to make it durable)");
  }

  @Override
  public String workflowId() {
    return id;
  }

  @Override
  public boolean isDurable() {
    return false;
  }

  @Override
  public void sleepUntil(Instant wakeAt) {
    runHooks();
    Uninterruptibles.sleepUntil(wakeAt);
  }

  @Override
  public Optional<Signal> awaitSignal(List<String> names, Optional<Instant> deadline) {
    synchronized (this) {
      for (String name : names) {
        String key = "torpor.local.signal." + name;
        String payload = System.getProperty(key);
        if (payload != null) {
          System.clearProperty(key);
          return Optional.of(new Signal(name, payload.getBytes(StandardCharsets.UTF_8), Instant.now()));
        }
      }
    }
    if (deadline.isEmpty()) {
      System.err.println("torpor: local mode: waiting forever for signal '" + String.join("' or '", names)
          + "'; pass -Dtorpor.local.signal." + names.get(0) + "=payload to supply it");
    }
    runHooks();
    Uninterruptibles.sleepUntil(deadline.orElse(Instant.MAX));
    return Optional.empty();
  }

  @Override
  public void checkpoint() {
    runHooks();
  }

  @Override
  public void register(Resource resource) {
    resources.register(resource);
  }

  /** Hooks run in local mode too, so a program behaves the same with and without a worker. */
  private void runHooks() {
    List<Throwable> before = resources.beforeCheckpoint();
    List<Throwable> after = resources.afterRestore();
    before.addAll(after);
    for (Throwable t : before) {
      System.err.println("torpor: local mode: a resource hook failed: " + t);
    }
  }

}
