package dev.torpor.internal.crac;

import dev.torpor.Durable;
import dev.torpor.internal.ResourceRegistry;
import java.io.IOException;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;
import org.crac.Context;
import org.crac.Core;
import org.crac.Resource;

/**
 * Runs in a JVM of its own, started by {@link OrgCracCompatTest} with or without {@code
 * -Dorg.crac.Core.Compat}: each scenario uses only {@code org.crac} and {@code Durable}, as a
 * library and a workflow would, and prints what happened, one line per event.
 */
public final class CompatScenarios {
  private static final List<Object> KEEP = new ArrayList<>();

  private CompatScenarios() {}

  public static void main(String[] args) throws Exception {
    switch (args[0]) {
      case "order" -> order();
      case "savepoint" -> savepoint();
      case "refused" -> refused();
      case "restore-failed" -> restoreFailed();
      case "weak" -> weak();
      default -> throw new IllegalArgumentException(args[0]);
    }
  }

  /** org.crac resources A and B, then Torpor's runtime with its own resource T, then C. */
  private static void order() {
    Core.getGlobalContext().register(printing("A", null, null));
    Core.getGlobalContext().register(printing("B", null, null));
    ResourceRegistry registry = new ResourceRegistry();
    registry.register(printing("T", null, null));
    Core.getGlobalContext().register(printing("C", null, null));
    System.out.println("global " + registry.runsGlobalContext());
    System.out.println("failures " + registry.beforeCheckpoint());
    System.out.println("failures " + registry.afterRestore());
  }

  /** Core.checkpointRestore() in a JVM no worker supervises: the hooks run once each. */
  private static void savepoint() throws Exception {
    Core.getGlobalContext().register(printing("A", null, null));
    Durable.register(printing("T", null, null));
    Core.getGlobalContext().register(printing("C", null, null));
    Core.checkpointRestore();
    System.out.println("returned");
  }

  private static void refused() throws Exception {
    Core.getGlobalContext().register(printing("A", null, new IllegalStateException("A cannot reconnect")));
    Core.getGlobalContext().register(printing("B", new IOException("B refuses"), null));
    Durable.register(printing("T", new IOException("T refuses"), null));
    try {
      Core.checkpointRestore();
      System.out.println("returned");
    } catch (org.crac.CheckpointException e) {
      System.out.println("CheckpointException " + messages(e));
    }
  }

  private static void restoreFailed() throws Exception {
    Core.getGlobalContext().register(printing("A", null, new IllegalStateException("A cannot reconnect")));
    Durable.register(printing("T", null, new IOException("T cannot reconnect")));
    try {
      Core.checkpointRestore();
      System.out.println("returned");
    } catch (org.crac.RestoreException e) {
      System.out.println("RestoreException " + messages(e));
    }
  }

  /** A resource nobody else holds is collected and not called, as on a CRaC JDK. */
  private static void weak() throws Exception {
    Core.getGlobalContext().register(printing("kept", null, null));
    WeakReference<Resource> dropped = registerAndForget();
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (dropped.get() != null && System.nanoTime() < deadline) {
      System.gc();
    }
    System.out.println("collected " + (dropped.get() == null));
    Core.checkpointRestore();
  }

  private static WeakReference<Resource> registerAndForget() {
    Resource r = new Resource() {
      @Override
      public void beforeCheckpoint(Context<? extends Resource> context) {
        System.out.println("before dropped");
      }

      @Override
      public void afterRestore(Context<? extends Resource> context) {
        System.out.println("after dropped");
      }
    };
    Core.getGlobalContext().register(r);
    return new WeakReference<>(r);
  }

  private static List<String> messages(Exception e) {
    List<String> out = new ArrayList<>();
    for (Throwable t : e.getSuppressed()) {
      out.add(t.getMessage());
    }
    return out;
  }

  /** Prints "before NAME" / "after NAME"; held strongly, since org.crac holds resources weakly. */
  private static Resource printing(String name, Exception before, Exception after) {
    Resource r = new Resource() {
      @Override
      public void beforeCheckpoint(Context<? extends Resource> context) throws Exception {
        System.out.println("before " + name);
        if (before != null) {
          throw before;
        }
      }

      @Override
      public void afterRestore(Context<? extends Resource> context) throws Exception {
        System.out.println("after " + name);
        if (after != null) {
          throw after;
        }
      }
    };
    KEEP.add(r);
    return r;
  }
}
