package dev.torpor.internal;

import dev.torpor.internal.crac.GlobalContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.crac.CheckpointException;
import org.crac.Context;
import org.crac.Core;
import org.crac.Resource;
import org.crac.RestoreException;

/**
 * Torpor's own ordered registry of {@link Resource}s ({@code Durable.register}), and what the
 * runtimes call around every checkpoint: {@code beforeCheckpoint} in reverse registration order,
 * {@code afterRestore} in registration order, as CRaC does. Resources are held strongly (CRaC
 * holds them weakly).
 *
 * <p>The registry registers itself, as one resource, with {@link Core#getGlobalContext()}. In a
 * workflow JVM that context is Torpor's ({@code org.crac.Core.Compat} names {@code
 * dev.torpor.internal.crac}), and then {@link #beforeCheckpoint()} and {@link #afterRestore()}
 * run the whole global context: what libraries registered through {@code org.crac} and this
 * registry's resources, each at its place in the registration order. Otherwise (no such
 * property, or a CRaC JDK calling the registry at its own checkpoints) they run this registry's
 * resources only.
 *
 * <p>{@link #beforeCheckpoint()} also notes the process's established TCP connections, the last
 * thing before the checkpoint; {@link #afterRestore()} prints one line to stderr (the workflow's
 * log) naming those the checkpoint closed, so that the I/O error of a connection held across a
 * wait has a visible cause.
 */
public final class ResourceRegistry {
  private final List<Resource> resources = new CopyOnWriteArrayList<>();
  private final Resource asOne =
      new Resource() {
        @Override
        public void beforeCheckpoint(Context<? extends Resource> context) throws CheckpointException {
          GlobalContext.throwIfAny(runOwnBeforeCheckpoint(), CheckpointException::new);
        }

        @Override
        public void afterRestore(Context<? extends Resource> context) throws RestoreException {
          GlobalContext.throwIfAny(runOwnAfterRestore(), RestoreException::new);
        }

        @Override
        public String toString() {
          return "Torpor's resources (Durable.register)";
        }
      };
  private final boolean global;
  private volatile Set<TcpConnections.Connection> openAtCheckpoint = Set.of();

  public ResourceRegistry() {
    Core.getGlobalContext().register(asOne);
    global = dev.torpor.internal.crac.Core.isOrgCracImplementation();
  }

  public void register(Resource resource) {
    if (resource == null) {
      throw new NullPointerException("resource");
    }
    resources.add(resource);
  }

  /** Whether the hooks are the whole org.crac global context's, this registry's among them. */
  public boolean runsGlobalContext() {
    return global;
  }

  /** Calls every resource, last registered first; returns what they threw. */
  public List<Throwable> beforeCheckpoint() {
    List<Throwable> failures = global ? GlobalContext.global().runBeforeCheckpoint() : runOwnBeforeCheckpoint();
    openAtCheckpoint = TcpConnections.established();
    return failures;
  }

  /** Calls every resource, first registered first; returns what they threw. */
  public List<Throwable> afterRestore() {
    Set<TcpConnections.Connection> before = openAtCheckpoint;
    openAtCheckpoint = Set.of();
    if (!before.isEmpty()) {
      TcpConnections.closedMessage(before, TcpConnections.established()).ifPresent(System.err::println);
    }
    return global ? GlobalContext.global().runAfterRestore() : runOwnAfterRestore();
  }

  private List<Throwable> runOwnBeforeCheckpoint() {
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

  private List<Throwable> runOwnAfterRestore() {
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
