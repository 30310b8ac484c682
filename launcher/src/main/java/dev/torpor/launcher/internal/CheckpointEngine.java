package dev.torpor.launcher.internal;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** Dumps a process tree to a directory of image files and restores it. CRIU is one. */
public interface CheckpointEngine {
  /** The engine's name and version for manifests, e.g. {@code {"name":"criu","version":"4.2.1"}}. */
  Map<String, String> describe();

  /**
   * Dumps the tree rooted at {@code pid} into {@code dir}. Unless {@code leaveRunning}, the
   * tree is killed once the dump succeeded. On failure the tree keeps running. {@code options}
   * are the sandbox's (its external mounts).
   *
   * @throws DumpFailedException with the engine's own explanation
   */
  void dump(long pid, Path dir, boolean leaveRunning, List<String> options) throws IOException, DumpFailedException;

  /**
   * Restores the tree dumped in {@code dir}, handing it the restoring process's stdout in place
   * of the old output pipe {@code outputPipe} (e.g. {@code pipe:[1234]}). The returned process
   * exits with the restored tree's exit status; its stdout carries the tree's output. {@code
   * options} are the sandbox's (its root and external mounts). With {@code addrNoRandomize} the
   * restored tree gets the ADDR_NO_RANDOMIZE personality it was dumped with.
   */
  Process restore(Path dir, String outputPipe, Path errorFile, List<String> options, boolean addrNoRandomize)
      throws IOException;

  /**
   * Waits for the restore {@code restore} (returned by {@link #restore}) to finish and returns
   * the restored tree's root pid.
   *
   * @throws IOException if the restore failed (ended with no root) or did not finish within {@code timeout}
   */
  long restoredRoot(Process restore, Duration timeout) throws IOException;

  /** The tail of the engine's log for a failed restore, for error messages. */
  String restoreLogTail(Path dir);
}
