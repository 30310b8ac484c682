package dev.torpor.internal.crac;

import dev.torpor.Durable;
import dev.torpor.TorporException;

/**
 * What {@code org.crac.Core} delegates to when the system property {@code org.crac.Core.Compat}
 * names this package, as it does in every workflow JVM a worker starts.
 */
public final class Core {
  /** The system property that names the package {@code org.crac.Core} delegates to. */
  public static final String COMPAT_PROPERTY = "org.crac.Core.Compat";

  /** This package's name: the value of {@link #COMPAT_PROPERTY} a worker sets. */
  public static final String COMPAT_PACKAGE = "dev.torpor.internal.crac";

  /**
   * The java option a worker puts on every workflow JVM's command line, before the workflow's
   * own options (so that a workflow's own {@code -Dorg.crac.Core.Compat} wins).
   */
  public static final String SYSTEM_PROPERTY_OPTION = "-D" + COMPAT_PROPERTY + "=" + COMPAT_PACKAGE;

  private static volatile boolean lookedUp;

  private Core() {}

  /**
   * The JVM's global context ({@link GlobalContext#global()}). {@code org.crac.Core} calls this
   * once, when it picks its implementation.
   */
  public static Context<Resource> getGlobalContext() {
    lookedUp = true;
    return GlobalContext.global();
  }

  /**
   * A savepoint: {@link Durable#checkpoint()}, which runs the global context's hooks around it (in
   * a JVM no worker supervises, just the hooks). As on a CRaC JDK: if a resource refused or no
   * image could be made, throws {@link CheckpointException} with each resource's failure (those
   * of {@code afterRestore} too, which runs anyway), or else the worker's, suppressed; if the
   * checkpoint happened but resources failed in {@code afterRestore}, throws {@link
   * RestoreException} with their failures suppressed.
   */
  public static void checkpointRestore() throws CheckpointException, RestoreException {
    GlobalContext.Failures seen = GlobalContext.capture();
    TorporException failed = null;
    try {
      Durable.checkpoint();
    } catch (TorporException e) {
      failed = e;
    } finally {
      GlobalContext.endCapture();
    }
    if (failed != null || !seen.before().isEmpty()) {
      CheckpointException e = new CheckpointException();
      seen.before().forEach(e::addSuppressed);
      if (seen.before().isEmpty()) {
        e.addSuppressed(failed); // the worker could not dump or store the image
      }
      seen.after().forEach(e::addSuppressed);
      throw e;
    }
    if (!seen.after().isEmpty()) {
      RestoreException e = new RestoreException();
      seen.after().forEach(e::addSuppressed);
      throw e;
    }
  }

  /**
   * Whether {@code org.crac.Core} picked this package as its implementation, so that the global
   * context holds what libraries registered through {@code org.crac}. Meaningful once {@code
   * org.crac.Core} has been initialised.
   */
  public static boolean isOrgCracImplementation() {
    return lookedUp;
  }
}
