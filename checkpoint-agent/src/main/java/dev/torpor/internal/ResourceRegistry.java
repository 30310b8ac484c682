package dev.torpor.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.crac.Context;
import org.crac.Core;
import org.crac.Resource;

/**
 * Torpor's own ordered registry of {@link Resource}s. On a stock JDK, {@code org.crac} cannot
 * run hooks, so under CRIU Torpor calls them itself: {@code beforeCheckpoint} in reverse
 * registration order, {@code afterRestore} in registration order, as CRaC does. The registry
 * is also registered with {@link Core#getGlobalContext()} so that a CRaC JDK calls it at its
 * own checkpoints. Resources are held strongly (CRaC holds them weakly).
 */
public final class ResourceRegistry {
  private final List<Resource> resources = new CopyOnWriteArrayList<>();
  private final Resource asOne =
      new Resource() {
        @Override
        public void beforeCheckpoint(Context<? extends Resource> context) throws Exception {
          List<Throwable> failures = ResourceRegistry.this.beforeCheckpoint();
          if (!failures.isEmpty()) {
            Exception e = new Exception("Torpor resources refused the checkpoint");
            failures.forEach(e::addSuppressed);
            throw e;
          }
        }

        @Override
        public void afterRestore(Context<? extends Resource> context) throws Exception {
          List<Throwable> failures = ResourceRegistry.this.afterRestore();
          if (!failures.isEmpty()) {
            Exception e = new Exception("Torpor resources failed after restore");
            failures.forEach(e::addSuppressed);
            throw e;
          }
        }
      };

  public ResourceRegistry() {
    Core.getGlobalContext().register(asOne);
  }

  public void register(Resource resource) {
    if (resource == null) {
      throw new NullPointerException("resource");
    }
    resources.add(resource);
  }

  /** Calls every resource, last registered first; returns what they threw. */
  public List<Throwable> beforeCheckpoint() {
    List<Throwable> failures = new ArrayList<>();
    List<Resource> snapshot = new ArrayList<>(resources);
    for (int i = snapshot.size() - 1; i >= 0; i--) {
      try {
        snapshot.get(i).beforeCheckpoint(null);
      } catch (Exception | LinkageError e) {
        failures.add(e);
      }
    }
    return failures;
  }

  /** Calls every resource, first registered first; returns what they threw. */
  public List<Throwable> afterRestore() {
    List<Throwable> failures = new ArrayList<>();
    for (Resource r : resources) {
      try {
        r.afterRestore(null);
      } catch (Exception | LinkageError e) {
        failures.add(e);
      }
    }
    return failures;
  }
}
